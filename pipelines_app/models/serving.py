from django.conf import settings
from django.db import models
from django.utils import timezone


class PredictionLogManager(models.Manager):
    def find_rows(self, row_ids_):
        """{row id: (answered request, row index)} for the ids that name a scored row; the rest are unknown.

        An id is the server's row id first; failing that, the caller's own ``X-Request-ID`` (``<id>-<row>`` in a
        batch). A caller may reuse its id, so several requests can carry it: its latest request is the one meant.
        """
        found = self._find_by("request_id", row_ids_)
        rest = [row_id for row_id in row_ids_ if row_id not in found]
        if rest:
            found.update(self._find_by("client_request_id", rest))
        return found

    def _find_by(self, field, row_ids_):
        # Oldest first, so that where a client's id names several requests the latest is the one kept.
        answered = self.filter(status_code=200).exclude(role="shadow").order_by("id")
        found = {getattr(log, field): (log, 0) for log in answered.filter(**{f"{field}__in": row_ids_, "rows": 1})}
        batched = {}
        for row_id in row_ids_:
            base, _, index = row_id.rpartition("-")
            if row_id not in found and base and index.isdigit():
                batched.setdefault(base, []).append((row_id, int(index)))
        for log in answered.filter(**{f"{field}__in": list(batched), "rows__gt": 1}):
            for row_id, index in batched[getattr(log, field)]:
                if index < log.rows:
                    found[row_id] = (log, index)
        return found


class LogJSONField(models.JSONField):
    """JSON kept as written: on PostgreSQL a ``text`` column (LZ4-compressed), parsed when read.

    Prediction logs are written far more often than read, and only ever read whole; only orjson writes them,
    so the text is always valid JSON. Measured with COPY of 1,000 requests × 100 rows of the demo features:
    ``jsonb`` (pglz) 329 ms, ``json`` (LZ4) 57 ms, ``text`` (LZ4) 36 ms; the whole drain of a 100-row request
    went from 82 µs (json) to 42 µs (text). Other databases keep their JSON type.
    """

    def db_type(self, connection):
        return "text" if connection.vendor == "postgresql" else super().db_type(connection)


class PredictionLog(models.Model):
    """One scoring request (or one refused request): which deployment and version answered, the rows it scored
    (inputs by column, a prediction and score per row), how fast.

    A batch is one row here, its inputs kept by column: a 100-row request costs the database one insert, not a
    hundred. Each scored row has its own request id, ``<request_id>-<row>`` in a batch (see ``row_ids``); the
    caller's ``X-Request-ID``, if it sent one, is kept beside it and names the rows the same way.
    Written in bulk from the Redis buffer by ``serving.prediction_log.drain`` (a Celery task), never on the
    request path.
    """

    class Role(models.TextChoices):
        PRIMARY = "primary", "primary"
        CANARY = "canary", "canary"
        SHADOW = "shadow", "shadow"

    request_id = models.CharField(max_length=80)  # the server's own (``serving.prediction_log.new_request_id``)
    client_request_id = models.CharField(
        max_length=64, null=True, blank=True, help_text="The caller's X-Request-ID, as sent; not unique."
    )
    deployment = models.ForeignKey("Deployment", on_delete=models.CASCADE, related_name="predictions")
    model_version = models.ForeignKey(
        "ModelVersion", null=True, blank=True, on_delete=models.SET_NULL, related_name="predictions"
    )
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.PRIMARY)
    rows = models.PositiveIntegerField(default=1)
    inputs = LogJSONField(default=dict, help_text="Feature → list of values, one per row (null: missing).")
    predictions = LogJSONField(default=list)
    scores = LogJSONField(null=True, blank=True, help_text="Probability of the positive class per row.")
    explanations = LogJSONField(
        null=True, blank=True, help_text="Per row {base, contributions, reasons}, when the caller asked ?explain."
    )
    latency_ms = models.FloatField(default=0)
    status_code = models.PositiveSmallIntegerField(default=200)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    objects = PredictionLogManager()

    class Meta:
        ordering = ["-id"]
        indexes = [
            # Rates on /deployments/ and the rollups read a deployment's recent requests.
            models.Index(fields=["deployment", "created_at"], name="prediction_deployment_time_idx"),
            # Feedback sent by the caller's own id. Partial: requests without one (most) cost the log's
            # bulk writes nothing here.
            models.Index(
                fields=["client_request_id"],
                name="prediction_client_id_idx",
                condition=models.Q(client_request_id__isnull=False),
            ),
        ]
        constraints = [
            # One row per request id and role: a buffer drained twice writes nothing twice (the entry's time is
            # its own, so the same entry comes with the same time). The id is always the server's own (a
            # caller's X-Request-ID is ``client_request_id``), so no two requests share it. The time is part of
            # the key because on PostgreSQL the table is partitioned by it (``partitions``), and a partitioned
            # table's unique keys hold its partition key. It also serves feedback, which finds a request by id.
            models.UniqueConstraint(
                fields=["request_id", "role", "created_at"], name="one_prediction_per_request_role_time"
            ),
        ]

    def __str__(self):
        return f"prediction {self.request_id} ({self.role})"

    def row_ids(self):
        return row_ids(self.request_id, self.rows)

    def row_id(self, index: int) -> str:
        """The server's id of one scored row (see ``row_ids``)."""
        return self.request_id if self.rows == 1 else f"{self.request_id}-{index}"


def row_ids(request_id: str, n: int) -> list[str]:
    """One id per scored row: the request's own for a single row, ``<request id>-<row>`` in a batch."""
    return [request_id] if n == 1 else [f"{request_id}-{i}" for i in range(n)]


class Feedback(models.Model):
    """The true outcome for a scored request, sent later (``POST /api/v1/feedback/``) and joined by request id."""

    request_id = models.CharField(max_length=80, unique=True, help_text="The scored row's id.")
    label = models.JSONField()
    # No database constraint: on PostgreSQL the log is partitioned by day and whole days are dropped after
    # PREDICTION_LOG_RETENTION_DAYS (a partitioned table's rows cannot be referenced by their id alone). Joins
    # find the labels of the logs still kept; ``monitoring.retention`` clears the references to dropped ones.
    prediction_log = models.ForeignKey(
        PredictionLog,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="feedback",
        db_constraint=False,
    )
    row = models.PositiveIntegerField(default=0, help_text="Which row of the logged request this label is for.")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-id"]

    def __str__(self):
        return f"feedback {self.request_id}"
