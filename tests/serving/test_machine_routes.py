"""mlops_site/wsgi.py: scoring paths are answered by a handler with settings.SERVING_MIDDLEWARE only and no
per-request signals, every other path by the whole stack. Called here as gunicorn calls it, through the WSGI
application itself (which closes what it returns once written, as a server does)."""

import io

import orjson
from django.core.signals import request_finished, request_started
from django.db import close_old_connections

from mlops_site.wsgi import MachineRoutesHandler, application
from pipelines_app.models import ApiToken
from tests.serving.conftest import RECORD


def call(path, method="GET", body=b"", **headers):
    environ = {
        "REQUEST_METHOD": method,
        "PATH_INFO": path,
        "QUERY_STRING": "",
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "8000",
        "HTTP_HOST": "127.0.0.1:8000",
        "REMOTE_ADDR": "127.0.0.1",
        "CONTENT_LENGTH": str(len(body)),
        "CONTENT_TYPE": headers.pop("content_type", "application/json"),
        "wsgi.input": io.BytesIO(body),
        "wsgi.url_scheme": "http",
        **{f"HTTP_{name.upper()}": value for name, value in headers.items()},
    }
    answer = {}

    def start_response(status, response_headers, exc_info=None):
        answer["status"] = int(status.split()[0])
        answer["headers"] = dict(response_headers)

    # As Django's test client does: the request's end must not close the test's connection (and its transaction).
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        written = application(environ, start_response)
        answer["body"] = b"".join(written)
        if hasattr(written, "close"):
            written.close()
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)
    return answer


def test_the_scoring_handler_has_only_the_serving_middleware(settings):
    names, layer = [], MachineRoutesHandler(fallback=None)._middleware_chain
    while hasattr(layer.__wrapped__, "get_response"):  # each layer wraps a middleware, the last the view call
        middleware = layer.__wrapped__
        names.append(f"{type(middleware).__module__}.{type(middleware).__name__}")
        layer = middleware.get_response
    assert names == settings.SERVING_MIDDLEWARE


def test_scoring_through_the_wsgi_application_answers_without_session_or_page_headers(deployed, editor):
    token = ApiToken.objects.issue(editor)[1]
    body = orjson.dumps({"dataframe_records": [RECORD]})
    answer = call("/serve/credit-card-approval/staging/invocations", "POST", body, authorization=f"Token {token}")
    assert answer["status"] == 200, answer["body"]
    assert len(orjson.loads(answer["body"])["predictions"]) == 1
    assert answer["headers"]["X-Content-Type-Options"] == "nosniff"  # SecurityMiddleware still runs
    assert "Set-Cookie" not in answer["headers"] and "Vary" not in answer["headers"]
    assert "Content-Security-Policy" not in answer["headers"]


def test_errors_on_machine_routes_are_json(db):
    missing = call("/serve/nothing/staging/invocations", "POST", b"{}")
    assert missing["status"] == 404 and orjson.loads(missing["body"])["error_code"] == "RESOURCE_DOES_NOT_EXIST"
    unknown = call("/v2/no/such/path")
    assert unknown["status"] == 404 and unknown["headers"]["Content-Type"] == "application/json"


def test_pages_still_get_the_whole_stack(db):
    login = call("/accounts/login/")
    assert login["status"] == 200
    assert "Content-Security-Policy" in login["headers"] and login["headers"]["X-Frame-Options"] == "DENY"
    assert "csrftoken" in login["headers"].get("Set-Cookie", "")


def test_scoring_sends_no_request_signals_and_pages_do(deployed, editor):
    token = ApiToken.objects.issue(editor)[1]
    started = []

    def receiver(sender, **kwargs):
        started.append(sender)

    request_started.connect(receiver)
    try:
        body = orjson.dumps({"dataframe_records": [RECORD]})
        answer = call("/serve/credit-card-approval/staging/invocations", "POST", body, authorization=f"Token {token}")
        assert answer["status"] == 200 and started == []
        assert call("/v2/health/live")["status"] == 200 and started == []
        assert call("/accounts/login/")["status"] == 200 and len(started) == 1
    finally:
        request_started.disconnect(receiver)


def test_a_scoring_path_no_machine_route_takes_gets_the_sites_404(db):
    answer = call("/serve/only-two/parts")
    assert answer["status"] == 404 and orjson.loads(answer["body"]) == {"detail": "Not found."}
    assert answer["headers"]["X-Frame-Options"] == "DENY"  # the site's handler, with the site's middleware


def test_a_wrong_method_on_a_scoring_path_is_405_with_the_methods_allowed(db):
    answer = call("/serve/credit-card-approval/staging/invocations", "GET")
    assert answer["status"] == 405 and answer["headers"]["Allow"] == "POST"
