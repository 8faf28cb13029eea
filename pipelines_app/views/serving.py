"""Serving, MLflow-compatible: ``/serve/<model>/<environment>/invocations``, ``ping``, ``health``, ``version``
and our own ``info``.

They answer as ``mlflow models serve`` does: its request shapes and content types (415 for any other), its
status codes, and error bodies with its ``error_code`` and ``message`` (our ``problems`` list beside them);
``/version`` is our release as plain text, as MLflow's is its own. Plain Django views kept short on purpose:
every request pays for what runs here. Token lookups, routes and models are cached per process
(``serving.models_cache``); the prediction log goes to a Redis buffer.
"""

import functools
import re
import time
import tomllib
from urllib.parse import quote

import orjson
from django.conf import settings
from django.http import HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from pipelines_app.models import ApiToken
from pipelines_app.models.accounts import hash_token
from pipelines_app.models.serving import row_ids
from pipelines_app.permissions import Role, has_role
from pipelines_app.serving import models_cache, prediction_log, shapley
from pipelines_app.serving.fresh_cache import FreshCache
from pipelines_app.serving.payloads import INVALID_PARAMETER_VALUE, PayloadError, parse_payload
from pipelines_app.serving.scoring import ScoringRequest

TOKEN_TTL_S = 5.0
# A caller's own X-Request-ID: printable ASCII, at most 64 characters, so that a batch row's "<id>-<row>"
# still fits the 80 characters feedback reads. It is kept on the log row (``client_request_id``), never used
# as the request's id.
CLIENT_REQUEST_ID = re.compile(r"[\x20-\x7e]{1,64}")


# A ceiling on the X-Ignored-Columns header (names are the caller's, of any number and length); the count of the
# names left out of it goes in X-Ignored-Columns-Omitted.
IGNORED_HEADER_MAX = 2000
# MLflow's error codes (mlflow.protos.databricks_pb2) for the answers that are not about the request's rows.
_ERROR_CODES = {
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "RESOURCE_DOES_NOT_EXIST",
    503: "TEMPORARILY_UNAVAILABLE",
}


def _error(status, message):
    return JsonResponse({"error_code": _ERROR_CODES[status], "message": message}, status=status)


@functools.cache
def release():
    """This product's version, from pyproject.toml, read once per process ("unknown" where it is not shipped)."""
    try:
        with open(settings.BASE_DIR / "pyproject.toml", "rb") as f:
            return str(tomllib.load(f)["project"]["version"])
    except (OSError, KeyError, tomllib.TOMLDecodeError):
        return "unknown"


def name_ignored_columns(response, names):
    """Name the ignored columns: percent-encoded (a name may hold a comma or any character), comma-separated."""
    shown, size = [], 0
    for name in names:
        encoded = quote(name, safe=" !#$&'()*+/:;<=>?@[]^_`{|}~")
        if size + len(encoded) + 2 > IGNORED_HEADER_MAX:
            break
        shown.append(encoded)
        size += len(encoded) + 2
    response["X-Ignored-Columns"] = ", ".join(shown)
    if len(shown) < len(names):
        response["X-Ignored-Columns-Omitted"] = str(len(names) - len(shown))


def _read_token(key):
    """Whether the token with this hash may score (a predict-only token, or a user with at least the viewer role)."""
    token = ApiToken.objects.authenticate_hash(key)
    if token is None:
        return False
    token.touch()
    return token.predict_only or has_role(token.user, Role.VIEWER)


# Re-read every few seconds off the request path (``fresh_cache``): a revoked token stops working within ~5 s.
_tokens = FreshCache("tokens", _read_token, TOKEN_TTL_S)


def _token_allowed(raw):
    return _tokens.get(hash_token(raw))


def _refused_auth(request, route):
    """None when the caller may score here, else the 401/403 response."""
    if route.public:
        return None
    parts = request.META.get("HTTP_AUTHORIZATION", "").split()
    if len(parts) != 2 or parts[0].lower() not in ("token", "bearer"):
        response = _error(401, f"{route.environment} needs a token: send 'Authorization: Token <key>'.")
        response["WWW-Authenticate"] = "Token"
        return response
    if not _token_allowed(parts[1]):
        return _error(403, "This token is unknown, revoked, or its user may not score models.")
    return None


def route_or_404(model, environment):
    route = models_cache.route(model, environment)
    if route is None:
        return None, _error(404, f"No version of '{model}' is deployed in '{environment}'.")
    return route, None


def route_for_caller(request, model, environment, started=None):
    """The route, or the 404 / 401 / 403 answer for this caller."""
    route, missing = route_or_404(model, environment)
    if missing:
        return None, missing
    refused = _refused_auth(request, route)
    if refused is not None and started is not None:
        # Counted for /metrics (no log entry: the caller is not known). A 404 is not: its names are the caller's.
        prediction_log.count_refusal(route, route.primary.pk, "primary", refused.status_code, started)
    return route, refused


@csrf_exempt
@require_GET
def ping(request, model, environment):
    """Health check (no token), at ``/ping`` and ``/health`` as MLflow has both: 200 once a version is deployed,
    404 otherwise."""
    route, missing = route_or_404(model, environment)
    return missing or JsonResponse({"status": "ok"})


@csrf_exempt
@require_GET
def version(request, model, environment):
    """What MLflow's ``/version`` answers, for our server: its release as plain text (no token)."""
    route, missing = route_or_404(model, environment)
    return missing or HttpResponse(release(), content_type="text/plain; charset=utf-8")


@csrf_exempt
@require_GET
def info(request, model, environment):
    """The deployment's versions (primary, canary, shadow) with their digests; a token unless public."""
    route, refused = route_for_caller(request, model, environment)
    if refused:
        return refused
    body = {
        "model": model,
        "environment": environment,
        "version": route.primary.version,
        "sha256": route.primary.sha256,
        "canary": {"version": route.canary.version, "percent": route.canary_percent} if route.canary else None,
        "shadow": {"version": route.shadow.version} if route.shadow else None,
    }
    return JsonResponse(body)


@csrf_exempt
@require_POST
def invocations(request, model, environment):
    scoring, refused = begin_scoring(request, model, environment)
    if refused:
        return refused
    loaded = scoring.loaded
    try:
        scoring.client_id = client_request_id(request)
        explain = _explain_count(request)
        body = read_body(request)
        rows = parse_payload(
            body, request.META.get("CONTENT_TYPE", ""), loaded.features, max_rows=settings.SERVING_MAX_ROWS
        )
        scored = scoring.score(rows)
        explanations = loaded.explain(scored.columns, scored.n, explain) if explain else None
        if explain and explanations is None:
            raise PayloadError(
                f"explain: version {loaded.version} cannot be explained for this request (reasons are given for "
                "binary classifiers scored on the fast path; for one that is neither linear nor a tree ensemble, "
                f"for at most {shapley.MAX_ROWS} rows per request).",
                code=INVALID_PARAMETER_VALUE,
            )
    except PayloadError as exc:
        scoring.log_refusal(exc)
        response = JsonResponse(exc.as_json(), status=exc.status)
        response["X-Request-ID"] = scoring.request_id
        return response
    answer = {"predictions": scored.predictions}
    if explanations is not None:
        answer["explanations"] = explanations
    if scored.probabilities is not None:
        answer["probabilities"] = scored.probabilities
    answer["request_ids"] = row_ids(scoring.request_id, scored.n)
    payload = orjson.dumps(answer)
    scoring.log_answer(scored, explanations)
    return answer_headers(HttpResponse(payload, content_type="application/json"), scoring, rows.ignored)


def begin_scoring(request, model, environment):
    """(the scoring request with its model loaded, None), or (None, the refusal in MLflow's shape: 404, 401,
    403, or 503 for a model file that may not be served); whatever the protocol, a request starts here."""
    started = time.perf_counter()
    route, refused = route_for_caller(request, model, environment, started)
    if refused:
        return None, refused
    scoring = ScoringRequest(route, started)
    try:
        scoring.load()
    except models_cache.ModelUnavailable as exc:
        scoring.count_refusal(503)
        return None, _error(503, str(exc))
    return scoring, None


# At most this many reasons per row (``?explain=K``).
MAX_REASONS = 20


def _explain_count(request):
    """K of ``?explain=K`` (how many reasons per row), 0 without it; ``PayloadError`` for anything else."""
    if not request.META.get("QUERY_STRING"):
        return 0  # the common case, without parsing a query string into a QueryDict
    raw = request.GET.get("explain")
    if raw is None:
        return 0
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_REASONS:
        raise PayloadError(
            f"explain must be a whole number of reasons from 1 to {MAX_REASONS}, not {raw[:20]!r}.",
            code=INVALID_PARAMETER_VALUE,
        )
    return int(raw)


def client_request_id(request):
    """The caller's own X-Request-ID (kept beside the server's id in the log), None without one; raises
    ``PayloadError`` for one that is not 1 to 64 printable ASCII characters (not kept: it may be anything up to
    the header size limit)."""
    client_id = request.META.get("HTTP_X_REQUEST_ID") or None
    if client_id is not None and not CLIENT_REQUEST_ID.fullmatch(client_id):
        raise PayloadError("The X-Request-ID header must be 1 to 64 printable ASCII characters.")
    return client_id


def read_body(request):
    """The body, at most ``SERVING_MAX_BYTES`` of it; ``PayloadError`` with 413 past that."""
    limit = settings.SERVING_MAX_BYTES
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if length > limit:
        raise PayloadError(f"The body is {length} bytes; at most {limit} are accepted.", status=413)
    body = request.read(limit + 1)
    if len(body) > limit:
        raise PayloadError(f"The body is over {limit} bytes, the most accepted.", status=413)
    return body


def answer_headers(response, scoring, ignored=()):
    """The headers every scoring answer carries, whatever its protocol."""
    response["X-Request-ID"] = scoring.request_id
    response["X-Model-Version"] = str(scoring.loaded.version)
    response["X-Scoring-Path"] = scoring.loaded.scoring_path
    response["X-Deployment-Role"] = scoring.role
    if ignored:
        name_ignored_columns(response, ignored)
    return response
