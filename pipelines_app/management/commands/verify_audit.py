"""Check the audit log's hash chain; exit non-zero when a row was altered or removed."""

from django.core.management.base import BaseCommand, CommandError

from pipelines_app.models import AuditEvent
from pipelines_app.models.audit import verify_chain


class Command(BaseCommand):
    help = "Verify the audit log's hash chain. Exits 1 naming the first event that does not match."

    def handle(self, **options):
        checked, broken, reason = verify_chain(AuditEvent.objects.order_by("id").iterator(chunk_size=2000))
        if broken is not None:
            when = broken.created_at.strftime("%Y-%m-%d %H:%M:%S")
            raise CommandError(
                f"audit chain broken at event {broken.pk} ({broken.verb}, {when}): {reason}. "
                f"{checked} events before it are intact."
            )
        self.stdout.write(self.style.SUCCESS(f"audit chain intact: {checked} events verified"))
