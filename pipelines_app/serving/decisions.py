"""One scored row, as a customer-service or compliance person asks for it: "why was this application declined?"

``decision(row_id)`` finds the logged request by the row's id (the server's, or the caller's own X-Request-ID, as
feedback finds it) and returns the row's inputs, the answer, the model version that gave it, its reasons and the
true label if one came back. Where the caller asked ``?explain``, the explanation it was given was logged with the
prediction and is shown as given; otherwise it is computed from the logged inputs with the version that answered
(a version's model file and training profile never change, so it is the one the caller would have got).
"""

from __future__ import annotations

import math

from pipelines_app.models import Feedback, PredictionLog
from pipelines_app.models.serving import row_ids
from pipelines_app.serving import models_cache

REASONS = 4


def decision(row_id: str, reasons: int = REASONS) -> dict | None:
    """The decision for one scored row, or None when no answered request has that row id."""
    if not (0 < len(row_id) <= 80 and row_id.isprintable()):
        return None  # no row has such an id (and a NUL byte is not even a text to PostgreSQL)
    found = PredictionLog.objects.find_rows([row_id]).get(row_id)
    if found is None:
        return None
    log, row = found
    server_row_id = row_ids(log.request_id, log.rows)[row]
    version = log.model_version
    inputs = {name: values[row] for name, values in (log.inputs or {}).items()}
    feedback = Feedback.objects.filter(request_id=server_row_id).values_list("label", flat=True).first()
    deployment = log.deployment
    return {
        "request_id": server_row_id,
        "client_request_id": log.client_request_id,
        "model": deployment.model.name,
        "environment": deployment.environment.name,
        "version": version.version if version else None,
        "role": log.role,
        "created_at": log.created_at,
        "inputs": inputs,
        "prediction": log.predictions[row] if log.predictions else None,
        "score": log.scores[row] if log.scores else None,
        "explanation": _logged(log, row) or _explanation(version, inputs, reasons),
        "label": feedback,
        "version_url": version.get_absolute_url() if version else None,
    }


def _logged(log, row):
    """The explanation the caller was given for this row, as logged, or None (it did not ask)."""
    explanations = log.explanations
    if isinstance(explanations, list) and row < len(explanations) and isinstance(explanations[row], dict):
        return {**explanations[row], "logged": True}
    return None


def _explanation(version, inputs, reasons):
    """The row's explanation by the version that answered, or None (a version gone or not explainable yet)."""
    if version is None:
        return None
    try:
        loaded = models_cache.load(version)
    except models_cache.ModelUnavailable:
        return None
    columns = {}
    for name in loaded.features:
        value = inputs.get(name)
        columns[name] = [math.nan if value is None else value]  # the log keeps a missing value as null
    explained = loaded.explain(columns, 1, reasons)
    return explained[0] if explained else None
