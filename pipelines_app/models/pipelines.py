import base64
import json
import logging
import secrets
from datetime import timedelta

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.contrib.auth.models import Group
from django.db import IntegrityError, models, transaction
from django.urls import reverse
from django.utils import timezone
from django_celery_beat.models import CrontabSchedule, PeriodicTask

from pipelines_app.spec import SpecContext, SpecError, SpecInvalid, parse_pipeline
from pipelines_app.spec.context import ApproverLimits
from pipelines_app.spec.cron import parse_cron

from .audit import AuditEvent, retry_on_deadlock
from .deployments import Environment
from .protection import Rules

logger = logging.getLogger(__name__)


def new_webhook_secret():
    return secrets.token_hex(32)


def _secret_box():
    """Webhook secrets are sealed with Fernet under a key derived from SECRET_KEY, so a copy of the database
    alone does not let anyone sign webhooks. SECRET_KEY_FALLBACKS still open what an earlier key sealed (new
    seals always use the current key), which is how SECRET_KEY can be rotated without breaking every hook."""
    keys = []
    for secret_key in [settings.SECRET_KEY, *settings.SECRET_KEY_FALLBACKS]:
        hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"mlops-site webhook secrets")
        keys.append(Fernet(base64.urlsafe_b64encode(hkdf.derive(secret_key.encode()))))
    return MultiFernet(keys)


def seal_secret(secret):
    return _secret_box().encrypt(secret.encode()).decode()


def open_secret(sealed):
    """The secret, or None when no key at hand opens it (SECRET_KEY changed without a fallback)."""
    if not sealed:
        return None
    try:
        return _secret_box().decrypt(sealed.encode()).decode()
    except InvalidToken:
        logger.error("a webhook secret cannot be opened with SECRET_KEY or SECRET_KEY_FALLBACKS")
        return None


def new_sealed_webhook_secret():
    return seal_secret(new_webhook_secret())


# Beat rows for a pipeline's cron triggers are named "<prefix>:<pipeline id>:<index>".
SCHEDULE_PREFIX = "pipeline-schedule"

# Addresses under /pipelines/ that a pipeline's slug must not take.
RESERVED_SLUGS = {"new", "validate"}


class PipelineExists(Exception):
    def __init__(self, slug):
        super().__init__(f"A pipeline '{slug}' already exists; save a new version of it instead.")
        self.slug = slug


def spec_context():
    """What the database knows that a pipeline file may refer to."""
    environments = list(Environment.objects.all())
    return SpecContext(
        environments={environment.name for environment in environments},
        groups=set(Group.objects.values_list("name", flat=True)),
        webhook_allowed_hosts=list(settings.NOTIFY_ALLOWED_HOSTS),
        step_timeout_max=settings.STEP_TIMEOUT_MAX,
        protected_environments={
            rules.environment: ApproverLimits(frozenset(rules.allowed_approver_groups()), rules.min_approvals)
            for rules in map(Rules.of, environments)
            if rules.protected
        },
    )


class PipelineQuerySet(models.QuerySet):
    def active(self):
        return self.filter(archived_at__isnull=True)

    def search(self, q):
        """By name, model or slug: the pipelines page and GET /api/v1/pipelines/ share it."""
        q = (q or "").strip()
        if not q:
            return self
        return self.filter(
            models.Q(name__icontains=q) | models.Q(model_name__icontains=q) | models.Q(slug__icontains=q)
        )


class PipelineManager(models.Manager.from_queryset(PipelineQuerySet)):
    @retry_on_deadlock
    def create_from_yaml(self, text, user, note="Created"):
        """Validate the file and create the pipeline with it as version 1.

        Raises ``SpecInvalid`` (with every error and its line) or ``PipelineExists``.
        """
        spec = parse_pipeline(text, spec_context())
        if spec.slug in RESERVED_SLUGS:
            line = next((i for i, row in enumerate(text.splitlines(), 1) if row.startswith("name:")), 1)
            raise SpecInvalid(
                [SpecError(line, 1, f"the name '{spec.name}' is reserved by the site; choose another", "name")]
            )
        if self.filter(slug=spec.slug).exists():
            raise PipelineExists(spec.slug)
        try:
            with transaction.atomic():
                pipeline = self.create(
                    slug=spec.slug,
                    name=spec.name,
                    description=spec.description or "",
                    model_name=spec.model,
                    owner=user,
                )
                pipeline.save_version(text, user, note=note, spec=spec, created=True)
        except IntegrityError:
            raise PipelineExists(spec.slug) from None
        return pipeline


class Pipeline(models.Model):
    """A named pipeline; its file is versioned in PipelineVersion, never edited in place."""

    slug = models.SlugField(max_length=100, unique=True)
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    model_name = models.CharField(max_length=200, help_text="The registered model this pipeline produces.")
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="owned_pipelines"
    )
    current_version = models.ForeignKey(
        "PipelineVersion", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Sealed (see _secret_box): the secret must be shown to its editors, who sign with it, so it cannot be hashed.
    sealed_webhook_secret = models.TextField(default=new_sealed_webhook_secret)
    # After a rotation the old secret keeps working until previous_webhook_secret_until, so that senders can
    # switch over without dropped deliveries.
    sealed_previous_webhook_secret = models.TextField(blank=True)
    previous_webhook_secret_until = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    archived_at = models.DateTimeField(null=True, blank=True)

    objects = PipelineManager()

    class Meta:
        ordering = ["name"]
        # The list page searches by name and model and sorts by name.
        indexes = [models.Index(fields=["archived_at", "name"], name="pipeline_list_idx")]

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        return reverse("pipeline-detail", args=[self.slug])

    @property
    def archived(self):
        return self.archived_at is not None

    @retry_on_deadlock
    def save_version(self, text, user, note="", spec=None, created=False):
        """Save the file as the next immutable version and make it current.

        Raises ``SpecInvalid`` when the file does not validate; nothing is saved then.
        """
        spec = spec or parse_pipeline(text, spec_context())
        with transaction.atomic():
            locked = type(self).objects.select_for_update().get(pk=self.pk)
            number = (locked.versions.aggregate(n=models.Max("number"))["n"] or 0) + 1
            version = PipelineVersion.objects.create(
                pipeline=locked,
                number=number,
                yaml_text=text,
                spec=spec.model_dump(mode="json"),
                author=user,
                note=note[:300],
            )
            self.current_version = version
            self.name = spec.name
            self.description = spec.description or ""
            self.model_name = spec.model
            self.updated_at = timezone.now()
            self.save(update_fields=["current_version", "name", "description", "model_name", "updated_at"])
            self._sync_schedules()
            verb = "pipeline.created" if created else "pipeline.version_saved"
            AuditEvent.objects.record(user, verb, self, {"version": number, "note": note})
        return version

    @property
    def webhook_secret(self):
        """The current secret in clear, for the editors who sign with it (None if it cannot be opened)."""
        return open_secret(self.sealed_webhook_secret)

    def previous_webhook_secret_valid(self, now=None):
        until = self.previous_webhook_secret_until
        return bool(self.sealed_previous_webhook_secret) and until is not None and (now or timezone.now()) < until

    def webhook_secrets(self):
        """Every secret a webhook may be signed with right now: the current one, and the previous one during
        its grace period."""
        sealed = [self.sealed_webhook_secret]
        if self.previous_webhook_secret_valid():
            sealed.append(self.sealed_previous_webhook_secret)
        return [secret for secret in map(open_secret, sealed) if secret]

    @retry_on_deadlock
    def rotate_webhook_secret(self, user):
        """Make a new secret; the current one stays valid for WEBHOOK_SECRET_GRACE_HOURS. A second rotation
        within the grace period ends the oldest secret at once: only one previous secret is kept."""
        grace = timedelta(hours=settings.WEBHOOK_SECRET_GRACE_HOURS)
        with transaction.atomic():
            # Two rotations at once must not both keep the same "previous" secret and lose one of the new ones.
            locked = type(self).objects.select_for_update().get(pk=self.pk)
            now = timezone.now()
            self.sealed_previous_webhook_secret = locked.sealed_webhook_secret if grace else ""
            self.previous_webhook_secret_until = now + grace if grace else None
            self.sealed_webhook_secret = new_sealed_webhook_secret()
            self.save(
                update_fields=[
                    "sealed_webhook_secret",
                    "sealed_previous_webhook_secret",
                    "previous_webhook_secret_until",
                ]
            )
            AuditEvent.objects.record(
                user,
                "pipeline.webhook_secret_rotated",
                self,
                {"previous_valid_until": self.previous_webhook_secret_until},
            )

    def archive(self, user):
        self.archived_at = timezone.now()
        self.save(update_fields=["archived_at"])
        self._sync_schedules()
        AuditEvent.objects.record(user, "pipeline.archived", self)

    def restore(self, user):
        self.archived_at = None
        self.save(update_fields=["archived_at"])
        self._sync_schedules()
        AuditEvent.objects.record(user, "pipeline.restored", self)

    def _sync_schedules(self):
        """Make the beat rows match the current file's schedule triggers (none when archived)."""
        spec = self.current_version.spec if self.current_version else {}
        crons = [] if self.archived else [t["cron"] for t in spec.get("triggers") or [] if t.get("type") == "schedule"]
        wanted = set()
        with transaction.atomic():
            for index, cron in enumerate(crons):
                crontab, _ = CrontabSchedule.objects.get_or_create(
                    **parse_cron(cron).as_crontab_fields(), timezone="UTC"
                )
                name = f"{SCHEDULE_PREFIX}:{self.pk}:{index}"
                wanted.add(name)
                PeriodicTask.objects.update_or_create(
                    name=name,
                    defaults={
                        "task": "pipelines_app.tasks.start_scheduled_run",
                        "crontab": crontab,
                        "interval": None,
                        "args": json.dumps([self.pk]),
                        "enabled": True,
                        "queue": "default",
                        "description": f"{self.slug}: {cron}",
                    },
                )
            PeriodicTask.objects.filter(name__startswith=f"{SCHEDULE_PREFIX}:{self.pk}:").exclude(
                name__in=wanted
            ).delete()
        return sorted(wanted)

    def triggers(self):
        spec = self.current_version.spec if self.current_version else {}
        return [t.get("type") for t in spec.get("triggers") or []]


class PipelineVersion(models.Model):
    """One saved pipeline file: the YAML text as written and its parsed form. Immutable."""

    pipeline = models.ForeignKey(Pipeline, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    yaml_text = models.TextField()
    spec = models.JSONField()
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    note = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["pipeline", "-number"]
        constraints = [models.UniqueConstraint(fields=["pipeline", "number"], name="pipeline_version_unique")]

    def __str__(self):
        return f"{self.pipeline.slug} v{self.number}"

    def get_absolute_url(self):
        return reverse("pipeline-detail", args=[self.pipeline.slug]) + f"?version={self.number}"
