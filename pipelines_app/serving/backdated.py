"""Scoring as of a past moment: how ``manage.py simulate_traffic`` gives a deployment days of history at once.

``POST /serve/…/invocations`` stamps each request with the time it arrives, and nothing a caller sends changes
that: a caller who could date its requests could rewrite a deployment's past (its drift, its accuracy, what its
alerts saw). The simulator runs inside Django, beside the database, and scores its older requests here instead,
through what the endpoint uses: the same route (the canary split by the request id), model, parsing, typing,
scoring and prediction log entry, with ``created_at`` the moment the request stands for. There is no URL for it:
only code that already holds the database reaches it.

History is scored by what serves now: a request dated before the current version was deployed is still
answered by it.
"""

from __future__ import annotations

import time

import orjson
from django.conf import settings

from pipelines_app.models.serving import row_ids
from pipelines_app.serving import models_cache, prediction_log
from pipelines_app.serving.payloads import PayloadError, parse_payload, type_columns


class NothingServes(LookupError):
    """No version of the model is deployed in the environment."""


def score_at(model_name: str, environment: str, records: list[dict], at: float) -> tuple[int, list[str]]:
    """Score ``records`` as a request arriving at the Unix time ``at`` would have been, and log it with that
    time. Returns the status the request would have had (200, or a PayloadError's 4xx) and its row ids."""
    route = models_cache.route(model_name, environment)
    if route is None:
        raise NothingServes(f"No version of '{model_name}' is deployed in '{environment}'.")
    request_id = prediction_log.new_request_id(at)
    canary = route.canary is not None and models_cache.goes_to_canary(request_id, route.canary_percent)
    role = "canary" if canary else "primary"
    loaded = models_cache.load(route.canary if canary else route.primary)
    # Timed from here: the model is read once per process, and the first dated request must not carry that.
    started = time.perf_counter()
    try:
        rows = parse_payload(orjson.dumps({"dataframe_records": records}), "application/json", loaded.features)
        columns, n = type_columns(
            rows, loaded.feature_schema, ignore_unknown=route.ignore_unknown, max_rows=settings.SERVING_MAX_ROWS
        )
    except PayloadError as exc:
        prediction_log.log_refusal(route, loaded, role, request_id, exc, started, at=at)
        return exc.status, []
    predictions, probabilities = loaded.score(columns, n)
    latency = (time.perf_counter() - started) * 1000
    if settings.SERVING_LOG_PREDICTIONS:
        prediction_log.log_answer(
            request_id, n, route, loaded, role, columns, predictions, probabilities, latency, at=at
        )
    return 200, row_ids(request_id, n)
