"""Who may see what: anonymous users go to the login page; roles get 200 or 403."""

import pytest

from pipelines_app.context_processors import NAVIGATION
from pipelines_app.models import ApiToken

SECTION_URLS = [prefix for _, _, prefix in NAVIGATION if prefix != "/audit/"]


@pytest.mark.parametrize("url", SECTION_URLS + ["/audit/", "/accounts/password/", "/system/workers/"])
def test_anonymous_is_sent_to_login(client, db, url):
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=")


@pytest.mark.parametrize("role", ["viewer", "editor", "reviewer", "admin"])
@pytest.mark.parametrize("url", SECTION_URLS)
def test_every_role_sees_the_sections(client_for, users, role, url):
    response = client_for(users[role]).get(url)
    assert response.status_code == 200
    assert users[role].username in response.content.decode()


@pytest.mark.parametrize(("role", "status"), [("viewer", 403), ("editor", 403), ("reviewer", 200), ("admin", 200)])
def test_audit_log_needs_reviewer(client_for, users, role, status):
    response = client_for(users[role]).get("/audit/")
    assert response.status_code == status
    if status == 403:
        assert f"needs the reviewer role; you are {role}" in response.content.decode()


@pytest.mark.parametrize(("role", "status"), [("viewer", 302), ("editor", 302), ("reviewer", 302), ("admin", 200)])
def test_django_admin_is_for_admins(client_for, users, role, status):
    assert client_for(users[role]).get("/admin/").status_code == status


def test_user_without_a_role_gets_403_with_the_reason(client, django_user_model):
    nobody = django_user_model.objects.create_user("nobody", password="x-Pass-12345")
    client.force_login(nobody)
    response = client.get("/pipelines/")
    assert response.status_code == 403
    assert "no role yet" in response.content.decode()


def api(client, path, token=None, method="get"):
    headers = {"HTTP_AUTHORIZATION": f"Token {token}"} if token else {}
    return getattr(client, method)(path, **headers)


@pytest.mark.parametrize(("role", "status"), [("viewer", 403), ("editor", 403), ("reviewer", 200), ("admin", 200)])
def test_api_audit_needs_reviewer(client, users, role, status):
    _, raw = ApiToken.objects.issue(users[role])
    response = api(client, "/api/v1/audit/", raw)
    assert response.status_code == status
    if status == 403:
        assert "reviewer role" in response.json()["detail"]


def test_api_without_credentials_is_refused(client, db):
    response = client.get("/api/v1/me/")
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"


def test_api_with_unknown_token_is_refused(client, db):
    assert api(client, "/api/v1/me/", "mlops_not-a-real-token").status_code == 401


def test_api_token_names_the_user_and_role(client, editor):
    _, raw = ApiToken.objects.issue(editor)
    response = client.get("/api/v1/me/", HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert response.status_code == 200
    assert response.json() == {"username": editor.username, "role": "editor"}


def test_revoked_token_is_refused(client, editor):
    token, raw = ApiToken.objects.issue(editor)
    token.revoke()
    assert api(client, "/api/v1/me/", raw).status_code == 401


def test_predict_only_token_cannot_use_the_management_api(client, admin_user):
    _, raw = ApiToken.objects.issue(admin_user, predict_only=True)
    response = api(client, "/api/v1/me/", raw)
    assert response.status_code == 403
    assert "only be used for predictions" in response.json()["detail"]


def test_tokens_are_stored_hashed(editor):
    token, raw = ApiToken.objects.issue(editor)
    token.refresh_from_db()
    assert raw not in (token.key_hash, token.prefix)
    assert len(token.key_hash) == 64
    assert raw.startswith(token.prefix)


def test_schema_and_docs_are_served_without_the_internet(client_for, viewer):
    c = client_for(viewer)
    schema = c.get("/api/schema/")
    assert schema.status_code == 200
    assert b"/api/v1/audit/" in schema.content
    docs = c.get("/api/docs/").content.decode()
    assert "cdn" not in docs.lower()
    assert "swagger-ui" in docs
