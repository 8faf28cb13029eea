"""Pipeline-level notifications (``notifications:`` in the file): e-mail to people and groups."""

import logging

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import send_mail

from pipelines_app.models import PipelineRun

log = logging.getLogger(__name__)

# Run statuses as the file names them.
EVENT_NAMES = {"waiting_approval": "waiting_for_approval"}


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
