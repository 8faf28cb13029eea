"""Check the audit log's hash chain; exit non-zero when a row was altered or removed.

``--anchor FILE`` appends the chain's count and head hash to FILE once it is verified; ``--against FILE`` also
fails when the chain is shorter than an anchor in FILE or does not pass through it, which is how removing the
newest events (that the chain alone cannot show) is caught. Keep anchor files where the database's users cannot
write.
"""

from django.core.management.base import BaseCommand, CommandError

from pipelines_app.models import AuditEvent
from pipelines_app.models.audit import append_anchor, read_anchors


class Command(BaseCommand):
    help = "Verify the audit log's hash chain. Exits 1 naming the first event that does not match."

    def add_arguments(self, parser):
        parser.add_argument("--anchor", metavar="FILE", help="append the verified count and head hash to FILE")
        parser.add_argument(
            "--against", metavar="FILE", help="fail when the chain is shorter than or diverges from an anchor in FILE"
        )

    def handle(self, anchor=None, against=None, **options):
        anchors = self._read(against) if against else []
        report = AuditEvent.objects.verify(positions={a.count for a in anchors})
        if report.broken is not None:
            broken = report.broken
            when = broken.created_at.strftime("%Y-%m-%d %H:%M:%S")
            raise CommandError(
                f"audit chain broken at event {broken.pk} ({broken.verb}, {when}): {report.reason}. "
                f"{report.checked} events before it are intact."
            )
        for each in anchors:
            if problem := each.contradiction(report):
                raise CommandError(f"audit chain does not match {against}: {problem}.")
        self.stdout.write(self.style.SUCCESS(f"audit chain intact: {report.checked} events verified"))
        self.stdout.write(f"head: {report.head} ({report.checked} events)")
        if against and anchors:
            self.stdout.write(f"consistent with the {len(anchors)} anchors in {against}")
        elif against:
            self.stdout.write(self.style.WARNING(f"{against} holds no anchors: nothing to compare with"))
        if anchor:
            written = append_anchor(anchor, report)
            self.stdout.write(f"anchored in {anchor}: {written.line()}")

    def _read(self, path):
        try:
            return read_anchors(path)
        except FileNotFoundError:
            raise CommandError(f"no anchor file at {path}") from None
        except (OSError, ValueError) as exc:
            raise CommandError(str(exc)) from None
