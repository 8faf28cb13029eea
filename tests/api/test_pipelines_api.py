"""/api/v1/pipelines/: create, read, new version, archive; 400 with line numbers; roles."""

import json

import pytest

from pipelines_app.models import AuditEvent, Pipeline
from tests.conftest import TEMPLATE_DIR, api_client

pytestmark = pytest.mark.usefixtures("environments")

SMALL = """version: 1
name: churn-model
description: a small pipeline
model: churn
stages:
  - name: data
    steps:
      - {name: load, type: ingest, dataset: churn-data}
  - name: train
    steps:
      - {name: fit, type: train, target: churned, estimator: sklearn.linear_model.LogisticRegression}
"""


def post_yaml(client, text, path="/api/v1/pipelines/", method="post"):
    return getattr(client, method)(path, data=text.encode(), content_type="application/yaml")


def test_editor_creates_a_pipeline_from_yaml(editor):
    response = post_yaml(api_client(editor), SMALL)
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["slug"] == "churn-model"
    assert body["current_version"] == 1
    assert body["model"] == "churn"
    pipeline = Pipeline.objects.get(slug="churn-model")
    assert pipeline.owner == editor
    assert pipeline.current_version.yaml_text == SMALL
    assert AuditEvent.objects.filter(verb="pipeline.created", object_id=str(pipeline.pk)).exists()


def test_json_body_with_yaml_works_too(editor):
    response = api_client(editor).post("/api/v1/pipelines/", {"yaml": SMALL}, format="json")
    assert response.status_code == 201
    assert response.json()["slug"] == "churn-model"


def test_the_demo_template_is_accepted(editor):
    text = (TEMPLATE_DIR / "credit_card_approval.yaml").read_text()
    assert post_yaml(api_client(editor), text).status_code == 201


def test_invalid_file_is_400_with_line_numbers_and_nothing_saved(editor):
    bad = SMALL.replace("type: ingest", "type: ingst")
    response = post_yaml(api_client(editor), bad)
    assert response.status_code == 400
    body = response.json()
    assert body["errors"][0]["line"] == 8
    assert "ingest" in body["errors"][0]["message"]
    assert not Pipeline.objects.exists()


def test_unknown_environment_is_named(editor):
    text = SMALL + "  - name: ship\n    steps:\n      - {name: deploy, type: deploy, environment: prod}\n"
    response = post_yaml(api_client(editor), text)
    assert response.status_code == 400
    error = response.json()["errors"][0]
    assert error["line"] == 14
    assert "production" in error["message"]


@pytest.mark.parametrize("body", [b"", b"\xff\xfe\x00bad", b"[1, 2"])
def test_garbage_bodies_are_400_not_500(editor, body):
    response = api_client(editor).post("/api/v1/pipelines/", data=body, content_type="application/yaml")
    assert response.status_code == 400


def test_unsupported_content_type_is_415(editor):
    response = api_client(editor).post("/api/v1/pipelines/", data=b"<x/>", content_type="application/xml")
    assert response.status_code == 415


def test_creating_twice_is_a_conflict(editor):
    client = api_client(editor)
    post_yaml(client, SMALL)
    response = post_yaml(client, SMALL)
    assert response.status_code == 409
    assert "already exists" in response.json()["detail"]
    assert Pipeline.objects.count() == 1


def test_put_saves_a_new_version(editor):
    client = api_client(editor)
    post_yaml(client, SMALL)
    response = post_yaml(
        client, SMALL.replace("a small pipeline", "a better pipeline"), "/api/v1/pipelines/churn-model/", "put"
    )
    assert response.status_code == 200
    assert response.json()["current_version"] == 2
    assert response.json()["description"] == "a better pipeline"
    versions = client.get("/api/v1/pipelines/churn-model/versions/").json()["results"]
    assert [v["number"] for v in versions] == [2, 1]


def test_put_with_errors_keeps_the_current_version(editor):
    client = api_client(editor)
    post_yaml(client, SMALL)
    response = post_yaml(client, SMALL.replace("target: churned, ", ""), "/api/v1/pipelines/churn-model/", "put")
    assert response.status_code == 400
    assert any(e["line"] == 11 for e in response.json()["errors"])
    assert Pipeline.objects.get().current_version.number == 1


def test_delete_archives(editor):
    client = api_client(editor)
    post_yaml(client, SMALL)
    assert client.delete("/api/v1/pipelines/churn-model/").status_code == 204
    assert Pipeline.objects.get().archived
    assert client.get("/api/v1/pipelines/").json()["count"] == 0
    assert client.get("/api/v1/pipelines/?archived=true").json()["count"] == 1
    assert client.get("/api/v1/pipelines/churn-model/").status_code == 200


def test_list_searches_and_reads(editor, viewer):
    post_yaml(api_client(editor), SMALL)
    client = api_client(viewer)
    assert client.get("/api/v1/pipelines/?q=churn").json()["count"] == 1
    assert client.get("/api/v1/pipelines/?q=nothing").json()["count"] == 0
    body = client.get("/api/v1/pipelines/churn-model/").json()
    assert body["yaml"] == SMALL


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("post", "/api/v1/pipelines/"),
        ("put", "/api/v1/pipelines/churn-model/"),
        ("delete", "/api/v1/pipelines/churn-model/"),
        ("post", "/api/v1/pipelines/validate/"),
    ],
)
def test_viewer_may_not_change_pipelines(editor, viewer, method, path):
    post_yaml(api_client(editor), SMALL)
    response = (
        post_yaml(api_client(viewer), SMALL, path, method) if method != "delete" else api_client(viewer).delete(path)
    )
    assert response.status_code == 403
    assert Pipeline.objects.get().current_version.number == 1
    assert not Pipeline.objects.get().archived


def test_anonymous_gets_401(db):
    from rest_framework.test import APIClient

    assert APIClient().get("/api/v1/pipelines/").status_code == 401


def test_validate_returns_errors_and_graph_without_saving(editor):
    client = api_client(editor)
    good = client.post("/api/v1/pipelines/validate/", {"yaml": SMALL}, format="json").json()
    assert good["valid"] is True
    assert [s["name"] for s in good["graph"]["stages"]] == ["data", "train"]
    bad = client.post(
        "/api/v1/pipelines/validate/", {"yaml": SMALL.replace("version: 1", "version: 2")}, format="json"
    ).json()
    assert bad["valid"] is False and bad["errors"][0]["line"] == 1
    assert not Pipeline.objects.exists()


def test_schema_documents_the_pipeline_endpoints(viewer):
    schema = api_client(viewer).get("/api/schema/?format=json")
    assert schema.status_code == 200
    paths = json.loads(schema.content)["paths"]
    assert "/api/v1/pipelines/" in paths and "/api/v1/pipelines/{slug}/" in paths
    assert "/api/v1/datasets/" in paths


def test_a_reserved_name_is_refused_at_its_line(editor):
    response = post_yaml(api_client(editor), SMALL.replace("name: churn-model", "name: new"))
    assert response.status_code == 400
    assert response.json()["errors"][0]["line"] == 2
    assert "reserved" in response.json()["errors"][0]["message"]
