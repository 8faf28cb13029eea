"""``notify``: tell people how the run went, by e-mail (and webhook, where configured)."""

import json
import urllib.request

from django.conf import settings
from django.core.mail import send_mail

from pipelines_app.notifications import recipients


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
            for url in [t[len("webhook:") :] for t in to if t.startswith("webhook:")]:
                body = json.dumps({"run": run.pk, "pipeline": run.pipeline.slug, "message": message}).encode()
                # The spec only admits http(s) webhook addresses.
                request = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"})  # noqa: S310
                with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
                    ctx.log(f"webhook {url}: HTTP {response.status}")
                sent["webhook"] += 1
        return sent
