"""``notify``: tell people how the run went, by e-mail (and webhook, where configured)."""

from django.conf import settings
from django.core.mail import send_mail

from pipelines_app.engine.runs import StepFailed
from pipelines_app.models import WebhookDelivery
from pipelines_app.notifications import recipients, webhook_urls
from pipelines_app.outbound import deliver_webhook


class NotifyStep:
    def run(self, ctx):
        spec = ctx.step_spec
        run = ctx.run
        to = [str(r) for r in spec.to] or ["group:editors"]
        message = spec.message or f"Run {run.pk} of {run.pipeline.name} reached '{ctx.step_run.name}'."
        sent = {"email": 0, "webhook": 0}
        if "email" in spec.channels:
            emails = recipients(to)
            if emails:
                sent["email"] = send_mail(
                    f"[MLOps Site] {run.pipeline.name}", message, settings.DEFAULT_FROM_EMAIL, emails
                )
            ctx.log(f"e-mailed {len(emails)} recipient(s)")
        if "webhook" in spec.channels:
            for url in webhook_urls(to):
                delivery = deliver_webhook(
                    url,
                    {"run": run.pk, "pipeline": run.pipeline.slug, "message": message},
                    purpose=WebhookDelivery.Purpose.NOTIFY_STEP,
                    run=run,
                )
                ctx.log(f"webhook {delivery.destination}: {delivery.status} {delivery.http_status or ''}".rstrip())
                if delivery.status != WebhookDelivery.Status.DELIVERED:
                    raise StepFailed(f"webhook {delivery.destination} {delivery.status}: {delivery.error}")
                sent["webhook"] += 1
        return sent
