"""The Open Inference Protocol (KServe V2, Triton's HTTP/REST API) under ``/v2/``, for the deployments that
``/serve/<model>/<environment>/invocations`` serves.

A V2 model version is one of our environments: ``/v2/models/<model>/versions/<environment>/infer``, and
``/v2/models/<model>/infer`` for production. Same token rule, feature schema check, limits, canary split and
prediction log as ``/invocations`` (``views.serving``, ``serving.scoring``); tensors in and out
(``serving.open_inference``), errors as V2 has them: ``{"error": <message>}``.
"""

import functools

import orjson
from django.conf import settings
from django.db import DatabaseError, connection
from django.http import HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from pipelines_app.models import Deployment
from pipelines_app.serving import models_cache, open_inference
from pipelines_app.serving.payloads import PayloadError
from pipelines_app.views.serving import (
    CLIENT_REQUEST_ID,
    answer_headers,
    begin_scoring,
    client_request_id,
    read_body,
    release,
    route_for_caller,
    route_or_404,
)

# The environment a version-less V2 path names.
PRODUCTION = "production"
SERVER_NAME = "mlops-site"


def _error(status, message, **extra):
    return JsonResponse({"error": message, **extra}, status=status)


def _v2(refusal):
    """A refusal of ``views.serving`` (404, 401, 403) in V2's error shape."""
    body = orjson.loads(refusal.content)
    response = _error(refusal.status_code, body.get("message") or body.get("error") or "Refused.")
    if refusal.has_header("WWW-Authenticate"):
        response["WWW-Authenticate"] = refusal["WWW-Authenticate"]
    return response


def _allow(method):
    """Only ``method`` (GET also answers HEAD); 405 in V2's error shape otherwise, as a V2 client reads errors."""
    allowed = {method, "HEAD"} if method == "GET" else {method}

    def decorate(view):
        @functools.wraps(view)
        def wrapped(request, *args, **kwargs):
            if request.method not in allowed:
                response = _error(405, f"{request.method} is not allowed here: use {method}.")
                response["Allow"] = ", ".join(sorted(allowed))
                return response
            return view(request, *args, **kwargs)

        return csrf_exempt(wrapped)

    return decorate


@_allow("GET")
def server_metadata(request):
    return JsonResponse({"name": SERVER_NAME, "version": release(), "extensions": ["binary_tensor_data"]})


@_allow("GET")
def health_live(request):
    """Live while the process answers (no token)."""
    return JsonResponse({"live": True})


@_allow("GET")
def health_ready(request):
    """Ready when the database answers: routes and tokens are read from it (no token)."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except DatabaseError:
        return _error(503, "The database does not answer.")
    return JsonResponse({"ready": True})


@_allow("GET")
def model_ready(request, model, environment=PRODUCTION):
    """200 once a version is deployed and its file loads, 404 otherwise (no token, like ``ping``)."""
    route, missing = route_or_404(model, environment)
    if missing:
        return _v2(missing)
    try:
        loaded = models_cache.load(route.primary)
    except models_cache.ModelUnavailable as exc:
        return _error(503, str(exc))
    response = JsonResponse({"name": model, "ready": True})
    response["X-Model-Version"] = str(loaded.version)
    return response


@_allow("GET")
def model_metadata(request, model, environment=PRODUCTION):
    """Inputs named and typed from the primary version's feature schema; ``versions`` are the environments that
    serve the model."""
    route, refused = route_for_caller(request, model, environment)
    if refused:
        return _v2(refused)
    try:
        loaded = models_cache.load(route.primary)
    except models_cache.ModelUnavailable as exc:
        return _error(503, str(exc))
    environments = (
        Deployment.objects.filter(model__name=model, primary_version__isnull=False)
        .order_by("environment__name")
        .values_list("environment__name", flat=True)
    )
    body = open_inference.model_metadata(model, list(environments), loaded.feature_schema, loaded.classes)
    response = JsonResponse(body)
    response["X-Model-Version"] = str(loaded.version)
    return response


@_allow("POST")
def infer(request, model, environment=PRODUCTION):
    scoring, refused = begin_scoring(request, model, environment)
    if refused:
        return _v2(refused)
    loaded = scoring.loaded
    outputs = open_inference.OUTPUTS if loaded.classes else ("predictions",)
    try:
        scoring.client_id = client_request_id(request)
        body = open_inference.decode_body(
            read_body(request), request.META.get("HTTP_CONTENT_ENCODING"), settings.SERVING_MAX_BYTES
        )
        parsed = open_inference.parse_infer_request(
            body,
            request.META.get("HTTP_INFERENCE_HEADER_CONTENT_LENGTH"),
            loaded.feature_schema,
            outputs=outputs,
            max_rows=settings.SERVING_MAX_ROWS,
        )
        if parsed.id is not None:
            if not CLIENT_REQUEST_ID.fullmatch(parsed.id):
                raise PayloadError('"id" must be 1 to 64 printable ASCII characters.')
            scoring.client_id = parsed.id
        scored = scoring.score(parsed.rows)
    except PayloadError as exc:
        scoring.log_refusal(exc)
        response = JsonResponse(open_inference.error_body(exc), status=exc.status)
        response["X-Request-ID"] = scoring.request_id
        return response
    tensors = open_inference.output_tensors(parsed.outputs, bool(loaded.classes), scored.predictions, scored.proba)
    head = {
        "model_name": model,
        "model_version": str(loaded.version),
        "id": parsed.id if parsed.id is not None else scoring.request_id,
        "parameters": {
            "request_id": scoring.request_id,
            "deployment_role": scoring.role,
            "scoring_path": loaded.scoring_path,
        },
    }
    payload, header_length = open_inference.encode_answer(head, tensors, parsed.binary)
    scoring.log_answer(scored)
    response = HttpResponse(payload, content_type="application/octet-stream" if header_length else "application/json")
    if header_length:
        response["Inference-Header-Content-Length"] = str(header_length)
    # Inputs left out as unknown, where the environment allows it, are named as /invocations names them.
    return answer_headers(response, scoring, getattr(parsed.rows, "ignored", ()))


@csrf_exempt
def not_found(request, rest=""):
    """Any other path under /v2: 404 in V2's error shape (not the HTML page)."""
    return _error(404, f"{request.path} is not an Open Inference Protocol endpoint here.")
