"""The signed-in user's notifications: list (newest first), mark all read."""

from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from pipelines_app.models import Notification
from pipelines_app.permissions import Role, role_required


@role_required(Role.VIEWER)
def notification_list(request):
    page = Paginator(Notification.objects.filter(user=request.user), 30).get_page(request.GET.get("page"))
    return render(request, "accounts/notifications.html", {"page": page})


@require_POST
@role_required(Role.VIEWER)
def notifications_read(request):
    Notification.objects.unread_for(request.user).update(read_at=timezone.now())
    return redirect("notifications")
