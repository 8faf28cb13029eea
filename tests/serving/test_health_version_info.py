"""GET /serve/<model>/<environment>/ping, /health, /version and /info: MLflow's three (no token), and ours with the
deployment's versions (a token unless the environment is public)."""

import tomllib

import pytest

from pipelines_app.models import ApiToken, Environment
from pipelines_app.serving import models_cache
from tests.conftest import ROOT

BASE = "/serve/credit-card-approval"


@pytest.fixture
def token(editor):
    return ApiToken.objects.issue(editor)[1]


@pytest.mark.parametrize("check", ["ping", "health"])
def test_ping_and_health_answer_200_once_deployed_without_a_token(client, deployed, check):
    response = client.get(f"{BASE}/staging/{check}")
    assert response.status_code == 200 and response.json() == {"status": "ok"}
    missing = client.get(f"{BASE}/production/{check}")
    assert missing.status_code == 404 and missing.json()["error_code"] == "RESOURCE_DOES_NOT_EXIST"
    assert client.get(f"/serve/nope/staging/{check}").status_code == 404


def test_version_is_our_release_as_plain_text_without_a_token(client, deployed):
    with open(ROOT / "pyproject.toml", "rb") as f:
        release = tomllib.load(f)["project"]["version"]
    response = client.get(f"{BASE}/staging/version")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain") and response.content.decode() == release
    assert client.get(f"{BASE}/production/version").status_code == 404


def test_info_names_the_deployed_versions_for_a_token_holder(client, deployed, token):
    refused = client.get(f"{BASE}/staging/info")
    assert refused.status_code == 401 and refused.json()["error_code"] == "UNAUTHENTICATED"
    assert refused["WWW-Authenticate"] == "Token"
    bad = client.get(f"{BASE}/staging/info", HTTP_AUTHORIZATION="Token mlops_not-a-token")
    assert bad.status_code == 403 and bad.json()["error_code"] == "PERMISSION_DENIED"
    body = client.get(f"{BASE}/staging/info", HTTP_AUTHORIZATION=f"Token {token}").json()
    assert body == {
        "model": "credit-card-approval",
        "environment": "staging",
        "version": deployed.version,
        "sha256": deployed.sha256,
        "canary": None,
        "shadow": None,
    }
    missing = client.get(f"{BASE}/production/info", HTTP_AUTHORIZATION=f"Token {token}")
    assert missing.status_code == 404 and missing.json()["error_code"] == "RESOURCE_DOES_NOT_EXIST"


def test_info_needs_no_token_where_the_environment_is_public(client, deployed):
    Environment.objects.filter(name="staging").update(public=True)
    models_cache.forget()
    assert client.get(f"{BASE}/staging/info").json()["version"] == deployed.version


@pytest.mark.parametrize("check", ["ping", "health", "version", "info"])
def test_they_answer_get_only(client, deployed, token, check):
    response = client.post(f"{BASE}/staging/{check}", HTTP_AUTHORIZATION=f"Token {token}")
    assert response.status_code == 405
