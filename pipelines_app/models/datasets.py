from django.conf import settings
from django.core.files.base import ContentFile
from django.db import models, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.text import slugify

from pipelines_app.ml import datasets as tables

from .audit import AuditEvent


def dataset_upload_path(version, filename):
    return f"datasets/{version.dataset.slug}/v{version.number}-{version.sha256[:12]}.csv"


class Dataset(models.Model):
    """A named, versioned table. Each upload of the same name is a new immutable version."""

    slug = models.SlugField(max_length=100, unique=True)
    description = models.TextField(blank=True)
    column_descriptions = models.JSONField(
        default=dict,
        blank=True,
        help_text="Column → what it means in business terms; reasons for a decision are given in these words.",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["slug"]

    def __str__(self):
        return self.slug

    def get_absolute_url(self):
        return reverse("dataset-detail", args=[self.slug])

    def latest_version(self):
        return self.versions.order_by("-number").first()

    def describe_columns(self, descriptions: dict[str, str], user):
        """Say what columns mean (blank: no description); audited when anything changed."""
        kept = {column: text.strip() for column, text in descriptions.items() if text and text.strip()}
        if kept == self.column_descriptions:
            return
        self.column_descriptions = kept
        self.save(update_fields=["column_descriptions"])
        AuditEvent.objects.record(user, "dataset.columns_described", self, {"descriptions": kept})


def too_large_message(size):
    return tables.size_limit_message(size, settings.DATASET_MAX_BYTES)


class DatasetVersionManager(models.Manager):
    def create_from_upload(self, slug, data, *, filename="", user=None, description=""):
        """Check, profile and store an uploaded CSV as the next version of dataset ``slug``.

        Raises ``DatasetError`` with a message for the user; nothing is stored then.
        """
        clean_slug = slugify(slug or "")[:100]
        if not clean_slug:
            raise tables.DatasetError("Give the dataset a name made of letters, digits or dashes.")
        if clean_slug == "upload":
            raise tables.DatasetError("The name 'upload' is reserved by the site; choose another.")
        limit = settings.DATASET_MAX_BYTES
        frame = tables.read_csv_checked(data, max_bytes=limit, max_columns=settings.DATASET_MAX_COLUMNS)
        schema = tables.infer_schema(frame)
        profile = tables.profile_dataframe(frame, schema)
        digest = tables.sha256_bytes(data)
        with transaction.atomic():
            dataset, created = Dataset.objects.get_or_create(
                slug=clean_slug, defaults={"created_by": user, "description": description}
            )
            # Lock the dataset so that two uploads at once get distinct version numbers.
            dataset = Dataset.objects.select_for_update().get(pk=dataset.pk)
            number = (dataset.versions.aggregate(n=models.Max("number"))["n"] or 0) + 1
            version = self.model(
                dataset=dataset,
                number=number,
                original_filename=filename[:255],
                sha256=digest,
                size_bytes=len(data),
                row_count=profile["rows"],
                column_count=profile["columns"],
                column_names=[str(c) for c in frame.columns],
                schema=schema,
                profile=profile,
                uploaded_by=user,
            )
            version.file.save(dataset_upload_path(version, filename), ContentFile(data), save=False)
            try:
                version.save()
                AuditEvent.objects.record(
                    user or "system",
                    "dataset.uploaded",
                    version,
                    {"sha256": digest, "rows": version.row_count, "created": created},
                )
            except Exception:
                version.file.delete(save=False)
                raise
        return version


class DatasetVersion(models.Model):
    """One upload: the file in artifact storage, its hash, inferred schema and profile."""

    dataset = models.ForeignKey(Dataset, on_delete=models.PROTECT, related_name="versions")
    number = models.PositiveIntegerField()
    file = models.FileField(upload_to=dataset_upload_path, max_length=300)
    original_filename = models.CharField(max_length=255, blank=True)
    sha256 = models.CharField(max_length=64)
    size_bytes = models.BigIntegerField()
    row_count = models.PositiveIntegerField()
    column_count = models.PositiveIntegerField()
    # The columns in file order: PostgreSQL's jsonb does not keep the order of an object's keys.
    column_names = models.JSONField(default=list)
    # column -> "numeric" | "categorical"; the user may correct it.
    schema = models.JSONField(default=dict)
    target = models.CharField(max_length=200, blank=True)
    profile = models.JSONField(default=dict)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    objects = DatasetVersionManager()

    class Meta:
        ordering = ["dataset", "-number"]
        constraints = [models.UniqueConstraint(fields=["dataset", "number"], name="dataset_version_unique")]

    def __str__(self):
        return f"{self.dataset.slug}@{self.number}"

    def get_absolute_url(self):
        return reverse("dataset-detail", args=[self.dataset.slug]) + f"?version={self.number}"

    @property
    def ref(self) -> str:
        return f"{self.dataset.slug}@{self.number}"

    def columns(self):
        """Column names in file order."""
        return list(self.column_names) or list(self.schema)

    def ordered_schema(self):
        return {column: self.schema[column] for column in self.columns() if column in self.schema}

    def ordered_profile(self):
        profile = self.profile.get("columns_profile", {})
        return {column: profile[column] for column in self.columns() if column in profile}

    def read_frame(self, schema=None):
        """The stored table with the version's schema (or the one given) applied; ``DatasetError`` when the stored
        bytes are not the ones uploaded (their SHA-256 is checked on every read, whatever the storage)."""
        with self.file.open("rb") as f:
            data = f.read()
        if self.sha256 and tables.sha256_bytes(data) != self.sha256:
            raise tables.DatasetError(
                f"The stored file of {self.ref} is not the one uploaded (its SHA-256 differs from the recorded "
                f"{self.sha256[:16]}…): it was changed or damaged, so it will not be read."
            )
        frame = tables.read_csv_checked(data, max_bytes=max(len(data), 1))
        return tables.apply_schema(frame, schema or self.schema)

    def update_schema(self, schema, target, user):
        """Correct the inferred column kinds and pick the target; the profile follows.

        Raises ``DatasetError`` when a column marked numeric holds text.
        """
        frame = self.read_frame(schema)
        self.schema = schema
        self.target = target
        self.profile = tables.profile_dataframe(frame, schema)
        self.save(update_fields=["schema", "target", "profile"])
        AuditEvent.objects.record(user, "dataset.schema_changed", self, {"schema": schema, "target": target})

    def categories(self, column):
        """The category values seen in a column (top ones, from the profile)."""
        freqs = self.profile.get("columns_profile", {}).get(column, {}).get("frequencies", {})
        ranked = sorted(freqs.items(), key=lambda item: (-item[1], item[0]))
        return [value for value, _ in ranked if value != "__other__"]
