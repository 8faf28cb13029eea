"""Seed the demo: one user per role, the credit card dataset and its pipeline.

Safe to run again: nothing is duplicated.

The password comes from --password, else $DEMO_PASSWORD, else a random one
kept in var/demo-password so that re-runs keep it. Demo use only.
"""

import secrets
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand
from django.db import transaction

from pipelines_app.authoring import DEMO_PIPELINE, TEMPLATES
from pipelines_app.models import AuditEvent, Dataset, DatasetVersion, Pipeline
from pipelines_app.permissions import Role

DEMO_USERS = [
    ("admin", Role.ADMIN),
    ("editor", Role.EDITOR),
    ("reviewer", Role.REVIEWER),
    ("reviewer2", Role.REVIEWER),
    ("viewer", Role.VIEWER),
]


def demo_password(explicit=None):
    if explicit:
        return explicit
    if settings.DEMO_PASSWORD:
        return settings.DEMO_PASSWORD
    path = settings.VAR_DIR / "demo-password"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(12))
        path.chmod(0o600)
    return path.read_text().strip()


DEMO_DATASET = "credit-card-applications"
# What the demo's columns mean (pipelines_app/demo/README.md), as the reasons for a decision name them.
DEMO_COLUMN_MEANINGS = {
    "reports": "Major derogatory reports",
    "age": "Age",
    "income": "Yearly income",
    "owner": "Home ownership",
    "selfemp": "Self-employment",
    "dependents": "Number of dependents",
    "months": "Time at the current address",
    "majorcards": "Major credit cards held",
    "active": "Active credit accounts",
}
DEMO_CSV = Path(__file__).resolve().parents[2] / "demo" / "credit_card_applications.csv"


class Command(BaseCommand):
    help = "Create the demo users (one per role). Idempotent."

    def add_arguments(self, parser):
        parser.add_argument("--password", help="password for every demo user (default: $DEMO_PASSWORD or random)")

    def handle(self, password=None, **options):
        password = demo_password(password)
        User = get_user_model()
        # Hashed once for all the demo users: each hash takes a good fraction of a second, on purpose, and this
        # runs on every `make run`.
        hashed = make_password(password)
        with transaction.atomic():
            for username, role in DEMO_USERS:
                group, _ = Group.objects.get_or_create(name=role.group)
                user, created = User.objects.get_or_create(
                    username=username, defaults={"email": f"{username}@example.com"}
                )
                user.is_staff = role == Role.ADMIN
                user.is_superuser = role == Role.ADMIN
                user.password = hashed
                user.save()
                user.groups.set([group])
                if created:
                    AuditEvent.objects.record("system", "demo.user_created", user, {"role": role.label})
            self._seed_data(User.objects.get(username="editor"))
        self.stdout.write("Demo logins (demo only, never use these in production):")
        for username, role in DEMO_USERS:
            self.stdout.write(f"  {username:<10} {role.label:<9} password: {password}")

    def _seed_data(self, owner):
        if not Dataset.objects.filter(slug=DEMO_DATASET).exists():
            version = DatasetVersion.objects.create_from_upload(
                DEMO_DATASET,
                DEMO_CSV.read_bytes(),
                filename=DEMO_CSV.name,
                user=owner,
                description="Real credit card applications (Greene, Econometric Analysis; AER CreditCard).",
            )
            version.update_schema(version.schema, "card", owner)
            version.dataset.describe_columns(DEMO_COLUMN_MEANINGS, owner)
        template = TEMPLATES["credit_card_approval"]
        if not Pipeline.objects.filter(slug=DEMO_PIPELINE).exists():
            Pipeline.objects.create_from_yaml(template.text(), owner, note="Seeded demo pipeline")
