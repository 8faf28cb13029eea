"""Every URL of the site, read from the URL configuration, against every role: a view added without a
permission check fails here.

Pages declare their role with ``@role_required``; API views check ``RolePermission``. The few views open to
anyone say why in ``OPEN``. Each protected URL is then asked for, with made-up arguments, by an anonymous
visitor (the login page, or 401/403 from the API) and by a user one role too low (403, never the page):
the role is checked before anything is looked up.
"""

import re

import pytest
from django.urls import URLPattern, URLResolver, get_resolver
from rest_framework.views import APIView

from pipelines_app.permissions import Role, RolePermission

# Views anyone may reach, and why.
OPEN = {
    "login": "the login page",
    "logout": "logging out",
    "password-change": "Django's own view, which sends anonymous visitors to the login page",
    "api-schema": "the OpenAPI description, as /api/docs/ shows it",
    "api-docs": "the API documentation page",
    "serve-invocations": "scoring: token auth unless the environment is public, tested in tests/serving",
    "serve-ping": "the health check of a deployment",
    "serve-health": "the health check of a deployment, MLflow's other name for ping",
    "serve-version": "the server's release as MLflow's /version answers its own, no token (as MLflow)",
    "serve-info": "token auth unless the environment is public, tested in tests/serving",
    "v2-server": "the Open Inference Protocol's server metadata (name, release), as V2 servers answer it openly",
    "v2-live": "liveness probe for orchestrators (V2)",
    "v2-ready": "readiness probe for orchestrators (V2)",
    "v2-model-ready": "a deployment's readiness probe (V2), as ping",
    "v2-model-version-ready": "a deployment's readiness probe (V2), as ping",
    "v2-model": "token auth unless the environment is public, tested in tests/serving/test_open_inference.py",
    "v2-model-version": "token auth unless the environment is public, tested in tests/serving/test_open_inference.py",
    "v2-infer": "scoring (V2): token auth unless the environment is public, tested in tests/serving",
    "v2-infer-version": "scoring (V2): token auth unless the environment is public, tested in tests/serving",
    "v2-not-found": "answers 404 for any other /v2/ path",
    "metrics": "token of a viewer or an allow-listed scraper address, tested in tests/serving/test_metrics.py",
    "api-pipeline-webhook": "signed with the pipeline's secret (X-Signature-256), tested in tests/api",
}


def _walk(patterns, prefix=""):
    for entry in patterns:
        if isinstance(entry, URLResolver):
            if getattr(entry, "app_name", None) == "admin":
                continue  # Django's admin: its own staff login
            yield from _walk(entry.url_patterns, prefix + str(entry.pattern))
        elif isinstance(entry, URLPattern):
            yield prefix + str(entry.pattern), entry


def _url(route):
    """A concrete path for the route, each argument made up (so nothing is found after the role check)."""
    path = re.sub(r"\(\?P<\w+>[^)]+\)", "987654", route)  # the DRF router's regular expressions
    path = re.sub(r"<(?:(\w+):)?\w+>", lambda m: "987654" if m.group(1) == "int" else "nothing-here", path)
    return "/" + path.replace("^", "").replace("$", "")


ROUTES = [
    (route, pattern) for route, pattern in _walk(get_resolver().url_patterns) if "<drf_format_suffix" not in route
]


def _api_class(callback):
    return getattr(callback, "cls", None) or getattr(getattr(callback, "view_class", None), "__mro__", [None])[0]


def _protection(pattern):
    callback = pattern.callback
    cls = _api_class(callback)
    if cls is not None and isinstance(cls, type) and issubclass(cls, APIView):
        permissions = getattr(cls, "permission_classes", [])
        return "api" if any(issubclass(p, RolePermission) for p in permissions) else None
    role = getattr(callback, "required_role", None)
    return role


def test_every_url_is_either_role_checked_or_open_for_a_stated_reason():
    unguarded = []
    for route, pattern in ROUTES:
        if pattern.name in OPEN:
            continue
        if _protection(pattern) is None:
            unguarded.append(f"/{route} ({pattern.name or pattern.callback.__name__})")
    assert not unguarded, "views without a permission check: " + ", ".join(unguarded)
    assert len(ROUTES) > 60  # the walk found the site (pages, API, serving)


PAGES = [(route, p) for route, p in ROUTES if isinstance(_protection(p), Role)]
API = [(route, p) for route, p in ROUTES if _protection(p) == "api"]


@pytest.mark.parametrize(("route", "pattern"), PAGES, ids=[p.name or r for r, p in PAGES])
def test_a_page_sends_visitors_to_login_and_refuses_a_role_too_low(route, pattern, client, client_for, users):
    url = _url(route)
    # A method the view does not take is refused first (405); the one it takes must reach the role check.
    answers = {method: getattr(client, method)(url) for method in ("get", "post")}
    assert {r.status_code for r in answers.values()} <= {302, 405} and 302 in {r.status_code for r in answers.values()}
    for method, response in answers.items():
        if response.status_code == 302:
            assert response["Location"].startswith("/accounts/login/"), (method, url, response["Location"])
    needed = pattern.callback.required_role
    if needed == Role.VIEWER:
        return
    lower = users[Role(needed - 1)]
    answers = {method: getattr(client_for(lower), method)(url) for method in ("get", "post")}
    assert {r.status_code for r in answers.values()} <= {403, 405} and 403 in {r.status_code for r in answers.values()}
    for response in answers.values():
        if response.status_code == 403:
            assert needed.label in response.content.decode()  # the page says which role it needs


@pytest.mark.parametrize(("route", "pattern"), API, ids=[p.name or r for r, p in API])
def test_the_api_refuses_anonymous_callers(route, pattern, client):
    url = _url(route)
    for method in ("get", "post"):
        response = getattr(client, method)(url)
        # DRF checks the caller before the method: even a method the view lacks is refused as unauthenticated.
        assert response.status_code in (401, 403), (method, url, response.status_code)


@pytest.fixture
def users(viewer, editor, reviewer, admin_user):
    return {Role.VIEWER: viewer, Role.EDITOR: editor, Role.REVIEWER: reviewer, Role.ADMIN: admin_user}


POSTABLE = [(route, p) for route, p in PAGES if p.name not in OPEN]


@pytest.mark.parametrize(("route", "pattern"), POSTABLE, ids=[p.name or r for r, p in POSTABLE])
def test_every_page_refuses_a_post_without_the_csrf_token(route, pattern, admin_user):
    """Even an admin's POST without the form's token is refused before the view runs (nothing changes)."""
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(admin_user)
    response = client.post(_url(route), {"anything": "1"})
    assert response.status_code == 403 and "CSRF" in response.content.decode(), (route, response.status_code)
