"""mlops_site/wsgi.py: scoring paths are answered by a handler with settings.SERVING_MIDDLEWARE only, every other
path by the whole stack. Called here as gunicorn calls it, through the WSGI application itself."""

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
        answer["body"] = b"".join(application(environ, start_response))
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)
    return answer


def test_the_scoring_handler_has_only_the_serving_middleware(settings):
    names, layer = [], MachineRoutesHandler()._middleware_chain
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
