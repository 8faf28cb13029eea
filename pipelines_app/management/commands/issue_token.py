"""Issue an API token for a user; the token alone is printed on the last line."""

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from pipelines_app.models import ApiToken, AuditEvent


class Command(BaseCommand):
    help = "Issue an API token for USERNAME. Prints the token alone on its last line; it is not shown again."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--predict-only", action="store_true", help="the token may only call serving endpoints")
        parser.add_argument("--name", default="", help="a label to tell tokens apart")

    def handle(self, username, predict_only, name, **options):
        User = get_user_model()
        try:
            user = User.objects.get(username=username)
        except User.DoesNotExist:
            raise CommandError(f"no user named {username!r}") from None
        if not user.is_active:
            raise CommandError(f"user {username!r} is deactivated")
        token, raw = ApiToken.objects.issue(user, name=name or "issued by issue_token", predict_only=predict_only)
        AuditEvent.objects.record(
            "system", "token.issued", token, {"user": username, "predict_only": predict_only, "prefix": token.prefix}
        )
        kind = "predict-only " if predict_only else ""
        self.stderr.write(f"Issued a {kind}token for {username}. Store it now: only its hash is kept.")
        self.stdout.write(raw)
