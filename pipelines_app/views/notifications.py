"""The signed-in user's notifications (list, newest first; open one; mark all read) with how the e-mails to them
went, and for admins every delivery and every reaction that failed.

A notification is read when its subject is acted on: deciding a request reads the decider's "Approval needed"
(and every reviewer's once the request is closed; engine.approvals), and opening a notification from this list
reads it (a POST: a page view alone never changes data, so visiting a run does not)."""

from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from pipelines_app.models import Delivery, Event, Notification
from pipelines_app.permissions import Role, role_required


@role_required(Role.VIEWER)
def notification_list(request):
    page = Paginator(Notification.objects.filter(user=request.user), 30).get_page(request.GET.get("page"))
    emails = (
        Delivery.objects.filter(channel=Delivery.Channel.EMAIL, recipient=request.user.email)[:10]
        if request.user.email
        else []
    )
    return render(request, "accounts/notifications.html", {"page": page, "emails": emails})


@require_POST
@role_required(Role.VIEWER)
def notifications_read(request):
    Notification.objects.unread_for(request.user).update(read_at=timezone.now())
    return redirect("notifications")


@require_POST
@role_required(Role.VIEWER)
def notification_open(request, pk):
    """Read one notification and go to what it is about."""
    notification = get_object_or_404(Notification, pk=pk, user=request.user)
    if notification.read_at is None:
        notification.read_at = timezone.now()
        notification.save(update_fields=["read_at"])
    # Only a path on this site: a stored URL never sends the user elsewhere.
    if notification.url and url_has_allowed_host_and_scheme(notification.url, allowed_hosts=None):
        return redirect(notification.url)
    return redirect("notifications")


@role_required(Role.ADMIN)
def delivery_list(request):
    """Every e-mail and webhook delivery, newest first, filtered by status and channel; and the outbox events
    whose reaction failed (or still waits), which nobody would otherwise see."""
    deliveries = Delivery.objects.select_related("run__pipeline", "alert")
    status, channel = request.GET.get("status", ""), request.GET.get("channel", "")
    if status in Delivery.Status.values:
        deliveries = deliveries.filter(status=status)
    if channel in Delivery.Channel.values:
        deliveries = deliveries.filter(channel=channel)
    page = Paginator(deliveries, 50).get_page(request.GET.get("page"))
    stuck = Event.objects.exclude(status=Event.Status.DONE).exclude(attempts=0).order_by("-id")[:20]
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "accounts/deliveries.html",
        {
            "page": page,
            "deliveries": page.object_list,
            "stuck": stuck,
            "status": status,
            "channel": channel,
            "statuses": Delivery.Status.choices,
            "channels": Delivery.Channel.choices,
            "query": query.urlencode(),
        },
    )
