"""Serving, MLflow-compatible: ``/serve/<model>/<environment>/invocations``, ``ping`` and ``version``.

Plain Django views kept short on purpose: every request pays for what runs here. Token lookups, routes and
models are cached per process (``serving.models_cache``); the prediction log goes to a Redis buffer.
"""

import re
import time

import orjson
from django.conf import settings
from django.http import HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from pipelines_app.models import ApiToken
from pipelines_app.models.accounts import hash_token
from pipelines_app.models.serving import row_ids
from pipelines_app.permissions import Role, has_role
from pipelines_app.serving import models_cache, prediction_log
from pipelines_app.serving.payloads import PayloadError, parse_payload, type_columns

TOKEN_TTL_S = 5.0
_tokens: dict[str, tuple[float, bool]] = {}
# A caller's own X-Request-ID: printable ASCII, at most 64 characters, so that a batch row's "<id>-<row>"
# still fits the 80 characters feedback reads. It is kept on the log row (``client_request_id``), never used
# as the request's id.
_CLIENT_REQUEST_ID = re.compile(r"[\x20-\x7e]{1,64}")


def _error(status, message, **extra):
    return JsonResponse({"error": _ERROR_CODES.get(status, "error"), "message": message, **extra}, status=status)


_ERROR_CODES = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found", 413: "payload_too_large"}


def _token_allowed(raw):
    """Whether a raw token may score; looked up at most every few seconds per process (revocation within 5 s)."""
    key = hash_token(raw)
    now = time.monotonic()
    cached = _tokens.get(key)
    if cached is not None and now - cached[0] < TOKEN_TTL_S:
        return cached[1]
    token = ApiToken.objects.authenticate(raw)
    allowed = token is not None and (token.predict_only or has_role(token.user, Role.VIEWER))
    if token is not None:
        token.touch()
    if len(_tokens) > 10_000:
        _tokens.clear()
    _tokens[key] = (now, allowed)
    return allowed


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


def _route_or_404(model, environment):
    route = models_cache.route(model, environment)
    if route is None:
        return None, _error(404, f"No version of '{model}' is deployed in '{environment}'.")
    return route, None


def _route_for_caller(request, model, environment):
    """The route, or the 404 / 401 / 403 answer for this caller."""
    route, missing = _route_or_404(model, environment)
    if missing:
        return None, missing
    return route, _refused_auth(request, route)


@csrf_exempt
@require_GET
def ping(request, model, environment):
    """Health check (no token): 200 once a version is deployed, 404 otherwise."""
    route, missing = _route_or_404(model, environment)
    return missing or JsonResponse({"status": "ok"})


@csrf_exempt
@require_GET
def version(request, model, environment):
    route, refused = _route_for_caller(request, model, environment)
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
    started = time.perf_counter()
    route, refused = _route_for_caller(request, model, environment)
    if refused:
        return refused
    # Always the server's id, and the canary split by it: a caller that chose the id would choose its version
    # and, by reusing an id, have its requests merged into one log row.
    request_id = prediction_log.new_request_id()
    client_id = request.META.get("HTTP_X_REQUEST_ID") or None
    canary = route.canary is not None and models_cache.goes_to_canary(request_id, route.canary_percent)
    target = route.canary if canary else route.primary
    role = "canary" if canary else "primary"
    try:
        loaded = models_cache.load(target)
    except models_cache.ModelUnavailable as exc:
        return _error(503, str(exc))
    limit = settings.SERVING_MAX_BYTES
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    try:
        if client_id is not None and not _CLIENT_REQUEST_ID.fullmatch(client_id):
            client_id = None  # refused, and not kept: it may be anything up to the header size limit
            raise PayloadError("The X-Request-ID header must be 1 to 64 printable ASCII characters.")
        if length > limit:
            raise PayloadError(f"The body is {length} bytes; at most {limit} are accepted.", status=413)
        body = request.read(limit + 1)
        if len(body) > limit:
            raise PayloadError(f"The body is over {limit} bytes, the most accepted.", status=413)
        rows = parse_payload(body, request.content_type, loaded.features)
        columns, n = type_columns(
            rows, loaded.feature_schema, ignore_unknown=route.ignore_unknown, max_rows=settings.SERVING_MAX_ROWS
        )
    except PayloadError as exc:
        prediction_log.log_refusal(route, loaded, role, request_id, exc, started, client_id=client_id)
        response = JsonResponse(exc.as_json(), status=exc.status)
        response["X-Request-ID"] = request_id
        return response
    predictions, probabilities = loaded.score(columns, n)
    ids = row_ids(request_id, n)
    answer = {"predictions": predictions}
    if probabilities is not None:
        answer["probabilities"] = probabilities
    answer["request_ids"] = ids
    payload = orjson.dumps(answer)
    latency = (time.perf_counter() - started) * 1000
    if settings.SERVING_LOG_PREDICTIONS:
        prediction_log.log_answer(
            request_id, n, route, loaded, role, columns, predictions, probabilities, latency, client_id
        )
    response = HttpResponse(payload, content_type="application/json")
    response["X-Request-ID"] = request_id
    response["X-Model-Version"] = str(loaded.version)
    response["X-Scoring-Path"] = loaded.scoring_path
    response["X-Deployment-Role"] = role
    return response
