"""``notify``: tell people how the run went, by e-mail (and webhook, where configured).

The step queues one delivery per address and finishes: sending is the ``deliver`` task's, retried with
backoff, so that a slow mail server or a webhook that hangs holds up neither this run nor the worker. How each
delivery went shows on the run's page."""

from pydantic_core import PydanticCustomError

from pipelines_app.models import Delivery
from pipelines_app.notifications import queue_emails, queue_webhooks, recipients, webhook_urls
from pipelines_app.spec import steps as spec_steps
from pipelines_app.spec.fields import check_recipient
from pipelines_app.steps.base import Step, StepFailed


class NotifyStep(Step):
    """Queue the step's message for its recipients (or the pipeline's) on each of its channels."""

    Spec = spec_steps.NotifyStep

    def run(self, ctx):
        spec = ctx.step_spec
        run = ctx.run
        to = _recipients(ctx) or ["group:editors"]
        message = ctx.fill(spec.message) or f"Run {run.pk} of {run.pipeline.name} reached '{ctx.step_run.name}'."
        queued = {"email": 0, "webhook": 0}
        if "email" in spec.channels:
            emails = recipients(to)
            queue_emails(emails, f"[MLOps Site] {run.pipeline.name}", message, Delivery.Purpose.NOTIFY_STEP, run=run)
            queued["email"] = len(emails)
        if "webhook" in spec.channels:
            payload = {"run": run.pk, "pipeline": run.pipeline.slug, "message": message}
            queued["webhook"] = len(queue_webhooks(webhook_urls(to), payload, Delivery.Purpose.NOTIFY_STEP, run=run))
        ctx.log(f"queued {queued['email']} e-mail(s) and {queued['webhook']} webhook call(s)")
        return queued


def _recipients(ctx):
    """The step's `to` with references filled in; a filled entry must still be a recipient the file could name."""
    filled = [str(recipient) for recipient in ctx.fill(list(ctx.step_spec.to))]
    for recipient in filled:
        try:
            check_recipient(recipient)
        except PydanticCustomError as exc:
            raise StepFailed(f"with its references filled in, {exc.message()}") from None
    return filled
