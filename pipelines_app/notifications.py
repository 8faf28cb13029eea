"""Telling people: in-app notifications, and deliveries by e-mail and webhook.

Who hears about what is decided here; how it travels is a ``Delivery`` row per address, queued in the caller's
transaction and sent by the ``deliver`` task, retried with backoff, so that a slow mail server or a webhook that
hangs delays no step and no request. Webhooks go out only through the guarded client (``outbound``).
"""

import logging
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import send_mail
from django.utils import timezone

from pipelines_app import dispatch
from pipelines_app.models import AuditEvent, Delivery, Notification
from pipelines_app.models.protection import parties
from pipelines_app.outbound import DELIVERED, REFUSED, post_json

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


def queue_emails(addresses, subject, text, purpose, *, run=None, alert=None):
    """One queued e-mail per address; sent after the transaction commits."""
    common = {"channel": Delivery.Channel.EMAIL, "subject": subject[:300], "body": {"text": text}}
    return _queue([{**common, "recipient": address} for address in sorted(set(addresses))], purpose, run, alert)


def queue_webhooks(urls, payload, purpose, *, run=None, alert=None):
    """One queued webhook call per URL; sent after the transaction commits."""
    common = {"channel": Delivery.Channel.WEBHOOK, "body": payload}
    return _queue([{**common, "recipient": url} for url in urls], purpose, run, alert)


def _queue(rows, purpose, run, alert):
    attempts = settings.NOTIFY_MAX_ATTEMPTS
    created = [
        Delivery.objects.create(**row, purpose=purpose, run=run, alert=alert, max_attempts=attempts) for row in rows
    ]
    for delivery in created:
        dispatch.deliver(delivery.pk)
    return created


def deliver(delivery_id):
    """One attempt at one delivery (the ``deliver`` task). Safe to run twice: the attempt is claimed first."""
    delivery = Delivery.objects.claim(delivery_id)
    if delivery is None:
        return "not claimed"
    if delivery.channel == Delivery.Channel.EMAIL:
        _send_email(delivery)
    else:
        _call_webhook(delivery)
    return delivery.status


def _send_email(delivery):
    try:
        send_mail(delivery.subject, delivery.body.get("text", ""), settings.DEFAULT_FROM_EMAIL, [delivery.recipient])
    except Exception as exc:  # noqa: BLE001  (whatever the mail server says is recorded and retried)
        _retry(delivery, f"the mail server refused: {exc}")
    else:
        delivery.finish(Delivery.Status.DELIVERED)


def _call_webhook(delivery):
    outcome = post_json(delivery.recipient, delivery.body, attempts=1)
    if outcome.status == REFUSED:
        delivery.finish(Delivery.Status.REFUSED, error=outcome.error)
        AuditEvent.objects.record(
            "system",
            "webhook.refused",
            delivery,
            {
                "url": delivery.recipient,
                "purpose": delivery.purpose,
                "reason": outcome.error,
                "run": delivery.run_id,
                "alert": delivery.alert_id,
            },
        )
        log.warning("webhook %s refused: %s", delivery.destination, outcome.error)
    elif outcome.status == DELIVERED:
        delivery.finish(Delivery.Status.DELIVERED, http_status=outcome.http_status)
    elif outcome.http_status is not None and outcome.http_status < 500:
        # The receiver understood and said no (or redirected): trying again would get the same answer.
        delivery.finish(Delivery.Status.FAILED, http_status=outcome.http_status, error=outcome.error)
    else:
        _retry(delivery, outcome.error, outcome.http_status)


def _retry(delivery, error, http_status=None):
    delay = delivery.retry_later(error=error, http_status=http_status, backoff_s=settings.NOTIFY_RETRY_BACKOFF_S)
    if delay is None:
        log.warning("%s gave up: %s", delivery, error)
    else:
        dispatch.deliver(delivery.pk, countdown=delay)


def requeue_lost(now=None, lost_after=timedelta(minutes=2)):
    """Beat: deliveries whose message was lost (due for a while, still queued) are sent again, and those whose
    worker died mid-attempt (sending for longer than any attempt takes) are queued again. Returns how many."""
    now = now or timezone.now()
    lost_since = now - lost_after
    stuck = Delivery.objects.filter(status=Delivery.Status.SENDING, started_at__lt=lost_since)
    stuck.update(status=Delivery.Status.QUEUED, next_attempt_at=lost_since, error="the worker sending it stopped")
    lost = list(Delivery.objects.due(lost_since).values_list("pk", flat=True))
    for pk in lost:
        dispatch.deliver(pk)
    return len(lost)


def notify_reviewers(request):
    """A request waits for its approver groups: in-app and by e-mail, never to those party to it (four-eyes)."""
    excluded = parties(request)
    users = [u for u in group_members([f"group:{g}" for g in request.approver_groups]) if u.pk not in excluded]
    url = request.get_absolute_url()
    Notification.objects.notify(users, f"Approval needed: {request.message}", url)
    queue_emails(
        [u.email for u in users if u.email],
        f"[MLOps Site] approval needed: {request.message}",
        f"{settings.SITE_URL}{url}\n",
        Delivery.Purpose.APPROVAL,
        run=request.run,
    )


def notify_decision(request):
    """The requester hears how their request was decided."""
    if request.requested_by is None:
        return
    text = f"Your request '{request.message}' was {request.get_status_display()}."
    url = request.get_absolute_url()
    Notification.objects.notify([request.requested_by], text, url)
    if request.requested_by.email:
        queue_emails(
            [request.requested_by.email],
            f"[MLOps Site] {text}",
            f"{settings.SITE_URL}{url}\n",
            Delivery.Purpose.APPROVAL,
            run=request.run,
        )


def notify_run_event(run):
    """What the file's ``notifications:`` ask for when the run reaches its status: in-app, e-mail, webhooks."""
    event = EVENT_NAMES.get(run.status, run.status)
    to = []
    for rule in run.pipeline_version.spec.get("notifications") or []:
        if event in (rule.get("on") or []):
            to.extend(str(r) for r in rule.get("to") or [])
    if not to:
        return
    words = event.replace("_", " ")
    link = f"{settings.SITE_URL}/runs/{run.pk}/"
    Notification.objects.notify(group_members(to), f"{run.pipeline.name}: run {run.pk} {words}", f"/runs/{run.pk}/")
    payload = {"run": run.pk, "pipeline": run.pipeline.slug, "event": event, "url": link, "error": run.error}
    queue_webhooks(webhook_urls(to), payload, Delivery.Purpose.RUN, run=run)
    body = f"Run {run.pk} of {run.pipeline.name} is {words}.\n\n{link}\n" + (f"\n{run.error}\n" if run.error else "")
    queue_emails(
        recipients(to), f"[MLOps Site] {run.pipeline.name}: run {run.pk} {words}", body, Delivery.Purpose.RUN, run=run
    )


def notify_alert(alert, text):
    """An alert fired or resolved: the rule's recipients, in-app, by e-mail and webhook."""
    addresses = alert.rule.notify or []
    deployment = alert.rule.deployment
    url = f"/monitoring/{deployment.model.name}/{deployment.environment.name}/"
    Notification.objects.notify(group_members(addresses), text[:300], url)
    queue_emails(recipients(addresses), f"[MLOps Site] {text}", f"{settings.SITE_URL}{url}\n", "alert", alert=alert)
    payload = {"event": "alert", "state": alert.state, "message": alert.message, "value": alert.value}
    queue_webhooks(webhook_urls(addresses), payload, Delivery.Purpose.ALERT, alert=alert)


def notify_canary_verdict(analysis):
    """A canary was judged: whoever started its analysis (the run's requester for a pipeline's deploy) and the
    environment's approvers, who let the version in, hear the verdict and what the system did."""
    deployment = analysis.deployment
    users = group_members([f"group:{g}" for g in deployment.environment.approver_groups or []])
    starter = analysis.run.requester if analysis.run_id else None
    if starter is None:
        starter = get_user_model().objects.filter(username=analysis.started_by, is_active=True).first()
    if starter is not None and starter not in users:
        users.append(starter)
    done = {
        "passed": f"promoted v{analysis.canary_version.version} to primary",
        "failed": f"rolled the canary v{analysis.canary_version.version} back",
        "held": "left the canary for a person to decide",
        "cancelled": "changed nothing (the canary had gone)",
    }[analysis.status]
    text = (
        f"Canary analysis of {deployment.model.name} in {deployment.environment.name}: {analysis.verdict or 'ended'}"
        f"; the system {done}. {analysis.reason}"
    )[:300]
    url = f"/deployments/{deployment.environment.name}/{deployment.model.name}/"
    Notification.objects.notify(users, text, url)
    queue_emails(
        [u.email for u in users if u.email],
        f"[MLOps Site] {text[:200]}",
        f"{text}\n\n{settings.SITE_URL}{url}\n",
        Delivery.Purpose.DEPLOYMENT,
        run=analysis.run,
    )


def notify_admins(text, url=""):
    """Something an admin must look at (a model file that failed its check): in-app and by e-mail."""
    users = group_members(["group:admins"])
    Notification.objects.notify(users, text, url)
    queue_emails([u.email for u in users if u.email], f"[MLOps Site] {text}", f"{settings.SITE_URL}{url}\n", "admin")
