"""POST /api/v1/models/<name>/versions/<n>/promote/: deploy, or an approval request where protected."""

import pytest

from pipelines_app.engine.runs import start_run
from pipelines_app.models import ApprovalRequest, Deployment, Environment
from tests.conftest import api_client, settle


@pytest.fixture
def version(credit_pipeline, run_inline, editor):
    return run_inline(start_run(credit_pipeline, editor)).model_version


def url(version, number=None):
    return f"/api/v1/models/{version.model.name}/versions/{number or version.version}/promote/"


def test_an_open_environment_answers_201_with_the_deployment(version, editor):
    Environment.objects.create(name="uat")
    response = api_client(editor).post(url(version), {"environment": "uat"}, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["status"] == "deployed"
    assert body["deployment"] == {**body["deployment"], "environment": "uat", "primary_version": version.version}
    assert Deployment.objects.get(environment__name="uat").primary_version == version


def test_a_protected_environment_answers_202_with_the_request_and_the_reviewer_approves_it(version, editor, reviewer):
    response = api_client(editor).post(url(version), {"environment": "production"}, format="json")
    assert response.status_code == 202, response.content
    approval = response.json()["approval"]
    assert (approval["model"], approval["version"], approval["environment"], approval["status"]) == (
        version.model.name,
        version.version,
        "production",
        "pending",
    )
    assert not Deployment.objects.filter(environment__name="production").exists()
    own = api_client(editor).post(f"/api/v1/approvals/{approval['id']}/approve/", {}, format="json")
    assert own.status_code == 403 and "four-eyes" in own.json()["detail"]
    decided = api_client(reviewer).post(f"/api/v1/approvals/{approval['id']}/approve/", {}, format="json")
    assert decided.status_code == 200 and decided.json()["status"] == "approved"
    settle()  # the deploy is the reaction to the decision's event
    assert Deployment.objects.get(environment__name="production").primary_version == version


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({}, "required"),
        ({"environment": "moon"}, "No environment is named 'moon'"),
        ({"environment": ["production"]}, ""),
    ],
)
def test_a_missing_or_unknown_environment_is_400_and_changes_nothing(version, editor, body, message):
    response = api_client(editor).post(url(version), body, format="json")
    assert response.status_code == 400
    assert message in str(response.json()["environment"])
    assert not ApprovalRequest.objects.filter(run=None).exists()


def test_an_unknown_version_or_model_is_404(version, editor):
    client = api_client(editor)
    assert client.post(url(version, 99), {"environment": "staging"}, format="json").status_code == 404
    assert client.post("/api/v1/models/nope/versions/1/promote/", {"environment": "staging"}).status_code == 404


def test_promoting_what_already_serves_is_409(version, editor):
    response = api_client(editor).post(url(version), {"environment": "staging"}, format="json")
    assert response.status_code == 409 and "already serves" in response.json()["detail"]


def test_viewers_cannot_promote(version, viewer):
    response = api_client(viewer).post(url(version), {"environment": "production"}, format="json")
    assert response.status_code == 403
    assert not ApprovalRequest.objects.filter(run=None).exists()
