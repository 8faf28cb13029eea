"""One scoring request's way through a deployment, whatever protocol it came in: the server's request id, the side
of a canary split it lands on, its model, the feature schema check, the score and the prediction log.

``/invocations`` (MLflow's protocol) and the Open Inference Protocol's ``infer`` both go through it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
from django.conf import settings

from pipelines_app.serving import models_cache, prediction_log
from pipelines_app.serving.payloads import PayloadError, Rows, type_columns


@dataclass
class Scored:
    """What a model answered for the rows of one request."""

    columns: dict[str, list]  # the rows as typed for the model, by column (what the log keeps)
    n: int
    predictions: list
    probabilities: list | None  # as /invocations answers and the log keeps: the positive class's, or per class
    proba: np.ndarray | None  # a classifier's probability of every class, a column per class in the model's order


class ScoringRequest:
    """A request to a deployment's route: picks its version by the server's own request id (the canary split),
    types and scores its rows and logs the answer or the refusal."""

    def __init__(self, route: models_cache.Route, started: float):
        self.route = route
        self.started = started  # perf_counter at arrival
        # Always the server's id, and the canary split by it: a caller that chose the id would choose its version
        # and, by reusing an id, have its requests merged into one log row.
        self.request_id = prediction_log.new_request_id()
        canary = route.canary is not None and models_cache.goes_to_canary(self.request_id, route.canary_percent)
        self.role = "canary" if canary else "primary"
        self.version = route.canary if canary else route.primary
        self.client_id = None  # the caller's own id, kept beside the server's in the log
        self.loaded = None

    def load(self) -> models_cache.LoadedModel:
        """The model that answers; raises ``models_cache.ModelUnavailable``."""
        self.loaded = models_cache.load(self.version)
        return self.loaded

    def score(self, rows: Rows) -> Scored:
        """The rows checked against the feature schema (raises ``PayloadError``) and scored."""
        columns, n = type_columns(
            rows,
            self.loaded.feature_schema,
            ignore_unknown=self.route.ignore_unknown,
            max_rows=settings.SERVING_MAX_ROWS,
        )
        return Scored(columns, n, *self.loaded.score_all(columns, n))

    def log_answer(self, scored: Scored, explanations: list | None = None) -> None:
        """Logged (with the rows' explanations when the caller asked for them), or with logging off only counted
        (``prediction_log.log_answer`` decides)."""
        latency = (time.perf_counter() - self.started) * 1000
        prediction_log.log_answer(
            self.request_id,
            scored.n,
            self.route,
            self.loaded,
            self.role,
            scored.columns,
            scored.predictions,
            scored.probabilities,
            latency,
            self.client_id,
            explanations=explanations,
        )

    def count_refusal(self, status: int) -> None:
        """A refusal before the rows were read (the model cannot be served): counted for /metrics, not logged."""
        prediction_log.count_refusal(self.route, self.version.pk, self.role, status, self.started)

    def log_refusal(self, exc: PayloadError) -> None:
        prediction_log.log_refusal(
            self.route, self.loaded, self.role, self.request_id, exc, self.started, client_id=self.client_id
        )
