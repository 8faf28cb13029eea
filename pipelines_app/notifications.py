"""Pipeline-level notifications (``notifications:`` in the file): in-app, e-mail to people and groups, webhooks
(through the guarded client in ``pipelines_app.outbound``)."""

import logging

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import send_mail

from pipelines_app.models import Notification, PipelineRun, WebhookDelivery
from pipelines_app.models.protection import parties
from pipelines_app.outbound import deliver_webhook

log = logging.getLogger(__name__)

# Run statuses as the file names them.
EVENT_NAMES = {"waiting_approval": "waiting_for_approval"}


def webhook_urls(addresses):
    return [entry[len("webhook:") :] for entry in addresses if entry.startswith("webhook:")]


def group_members(addresses):
    """Active users named by 'group:<name>' entries."""
    User = get_user_model()
    groups = [entry[6:] for entry in addresses if entry.startswith("group:")]
    return list(User.objects.filter(groups__name__in=groups, is_active=True).distinct()) if groups else []


def notify_reviewers(request):
    """A request waits for its approver groups: in-app and by e-mail, never to those party to it (four-eyes)."""
    excluded = parties(request)
    users = [u for u in group_members([f"group:{g}" for g in request.approver_groups]) if u.pk not in excluded]
    url = _approval_url(request)
    Notification.objects.notify(users, f"Approval needed: {request.message}", url)
    emails = sorted({u.email for u in users if u.email})
    if emails:
        send_quietly(f"[MLOps Site] approval needed: {request.message}", f"{settings.SITE_URL}{url}\n", emails)


def notify_decision(request):
    """The requester hears how their request was decided."""
    if request.requested_by is None:
        return
    text = f"Your request '{request.message}' was {request.get_status_display()}."
    url = _approval_url(request)
    Notification.objects.notify([request.requested_by], text, url)
    if request.requested_by.email:
        send_quietly(f"[MLOps Site] {text}", f"{settings.SITE_URL}{url}\n", [request.requested_by.email])


def _approval_url(request):
    return request.get_absolute_url()


def send_quietly(subject, body, to):
    try:
        send_mail(subject[:200], body, settings.DEFAULT_FROM_EMAIL, to)
    except Exception:  # noqa: BLE001  (a mail server problem must not change what was decided)
        log.exception("could not send %r", subject)


def recipients(addresses):
    """E-mail addresses for 'group:<name>' entries and plain addresses; webhooks are left out."""
    User = get_user_model()
    emails = set()
    for entry in addresses:
        if entry.startswith("group:"):
            emails.update(
                User.objects.filter(groups__name=entry[6:], is_active=True)
                .exclude(email="")
                .values_list("email", flat=True)
            )
        elif "@" in entry and not entry.startswith("webhook:"):
            emails.add(entry)
    return sorted(emails)


def notify_run_event(run_id, status):
    run = PipelineRun.objects.select_related("pipeline", "pipeline_version").get(pk=run_id)
    event = EVENT_NAMES.get(status, status)
    to = []
    for rule in run.pipeline_version.spec.get("notifications") or []:
        if event in (rule.get("on") or []):
            to.extend(str(r) for r in rule.get("to") or [])
    subject_line = f"{run.pipeline.name}: run {run.pk} {event.replace('_', ' ')}"
    Notification.objects.notify(group_members(to), subject_line, f"/runs/{run.pk}/")
    for url in webhook_urls(to):
        deliver_webhook(
            url,
            {
                "run": run.pk,
                "pipeline": run.pipeline.slug,
                "event": event,
                "url": f"{settings.SITE_URL}/runs/{run.pk}/",
                "error": run.error,
            },
            purpose=WebhookDelivery.Purpose.RUN,
            run=run,
        )
    emails = recipients(to)
    if not emails:
        return 0
    subject = f"[MLOps Site] {run.pipeline.name}: run {run.pk} {event.replace('_', ' ')}"
    body = f"Run {run.pk} of {run.pipeline.name} is {event.replace('_', ' ')}.\n\n{settings.SITE_URL}/runs/{run.pk}/\n"
    if run.error:
        body += f"\n{run.error}\n"
    try:
        return send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, emails)
    except Exception:  # noqa: BLE001  (a mail server problem must not change the run)
        log.exception("could not send the notification for run %s", run.pk)
        return 0


def notify_admins(text, obj=None):
    """Something an admin must look at (a model file that failed its check): in-app and by e-mail."""
    users = group_members(["group:admins"])
    url = obj.get_absolute_url() if obj is not None and hasattr(obj, "get_absolute_url") else ""
    Notification.objects.notify(users, text, url)
    emails = sorted({u.email for u in users if u.email})
    if emails:
        send_quietly(f"[MLOps Site] {text}", f"{settings.SITE_URL}{url}\n", emails)
