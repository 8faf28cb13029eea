"""The pipeline pages: list, YAML editor, live validation, wizard, templates, versions and diff."""

import pytest

from pipelines_app.models import AuditEvent, Pipeline
from tests.conftest import TEMPLATE_DIR

pytestmark = pytest.mark.usefixtures("environments")

DEMO = (TEMPLATE_DIR / "credit_card_approval.yaml").read_text()


@pytest.fixture
def demo_pipeline(editor, environments):
    return Pipeline.objects.create_from_yaml(DEMO, editor)


def test_list_empty_state_offers_the_wizard_to_editors(client_for, editor, viewer):
    assert "Build one with the wizard" in client_for(editor).get("/pipelines/").content.decode()
    page = client_for(viewer).get("/pipelines/").content.decode()
    assert "No pipelines yet." in page and "Build one with the wizard" not in page


def test_list_searches_and_paginates(client_for, viewer, editor, django_assert_max_num_queries):
    for i in range(30):
        Pipeline.objects.create_from_yaml(DEMO.replace("name: credit-card-approval", f"name: p-{i:02d}"), editor)
    c = client_for(viewer)
    with django_assert_max_num_queries(13):
        first = c.get("/pipelines/").content.decode()
    assert "p-00" in first and "p-24" in first and "p-25" not in first
    assert "Page 1 of 2" in first
    found = c.get("/pipelines/", {"q": "p-07"}).content.decode()
    assert "p-07" in found and "p-08" not in found


def test_editor_creates_from_a_template(client_for, editor):
    c = client_for(editor)
    page = c.get("/pipelines/new/yaml/?template=credit_card_approval").content.decode()
    assert "sklearn.linear_model.LogisticRegression" in page
    response = c.post("/pipelines/new/yaml/", {"yaml": DEMO, "note": "first"})
    assert response.status_code == 302
    pipeline = Pipeline.objects.get()
    assert pipeline.current_version.note == "first"


def test_editor_post_with_errors_shows_them_at_their_lines(client_for, editor):
    response = client_for(editor).post("/pipelines/new/yaml/", {"yaml": DEMO.replace("type: train", "type: trian")})
    assert response.status_code == 400
    page = response.content.decode()
    assert "line 28, column" in page and "did you mean" in page
    assert not Pipeline.objects.exists()


def test_live_validation_returns_errors_or_the_graph(client_for, editor):
    c = client_for(editor)
    ok = c.post("/pipelines/validate/", {"yaml": DEMO}).json()
    assert ok["valid"] and "stage-graph" in ok["graph_html"] and "approval" in ok["graph_html"]
    bad = c.post("/pipelines/validate/", {"yaml": DEMO.replace("environment: staging", "environment: stagng")}).json()
    assert not bad["valid"]
    assert "staging" in bad["errors"][0]["message"]


def test_validation_rejects_get_and_viewers(client_for, editor, viewer):
    assert client_for(editor).get("/pipelines/validate/").status_code == 405
    assert client_for(viewer).post("/pipelines/validate/", {"yaml": DEMO}).status_code == 403


def test_edit_saves_a_new_version_and_diff_shows_it(client_for, editor, demo_pipeline):
    c = client_for(editor)
    changed = DEMO.replace("roc_auc >= 0.75", "roc_auc >= 0.752")
    assert c.post(f"/pipelines/{demo_pipeline.slug}/edit/", {"yaml": changed, "note": "tighter"}).status_code == 302
    demo_pipeline.refresh_from_db()
    assert demo_pipeline.current_version.number == 2
    diff = c.get(f"/pipelines/{demo_pipeline.slug}/diff/?a=1&b=2").content.decode()
    assert 'class="diff_add">2</span>' in diff
    assert AuditEvent.objects.filter(verb="pipeline.version_saved").count() == 1


@pytest.mark.parametrize("query", ["a=1&b=9", "a=x&b=1"])
def test_diff_of_unknown_versions_is_404(client_for, viewer, demo_pipeline, query):
    assert client_for(viewer).get(f"/pipelines/{demo_pipeline.slug}/diff/?{query}").status_code == 404


def test_viewer_reads_but_cannot_edit(client_for, viewer, demo_pipeline):
    c = client_for(viewer)
    page = c.get(f"/pipelines/{demo_pipeline.slug}/").content.decode()
    assert "stage-graph" in page and "Edit YAML" not in page
    assert c.get(f"/pipelines/{demo_pipeline.slug}/edit/").status_code == 403
    assert c.post(f"/pipelines/{demo_pipeline.slug}/edit/", {"yaml": DEMO}).status_code == 403
    assert c.post(f"/pipelines/{demo_pipeline.slug}/archive/").status_code == 403
    assert c.get("/pipelines/new/wizard/").status_code == 403


def test_archive_and_restore(client_for, editor, demo_pipeline):
    c = client_for(editor)
    c.post(f"/pipelines/{demo_pipeline.slug}/archive/")
    demo_pipeline.refresh_from_db()
    assert demo_pipeline.archived
    assert "No pipelines yet." in c.get("/pipelines/").content.decode()
    assert demo_pipeline.name in c.get("/pipelines/?archived=1").content.decode()
    c.post(f"/pipelines/{demo_pipeline.slug}/archive/")
    demo_pipeline.refresh_from_db()
    assert not demo_pipeline.archived


def wizard_data(**extra):
    data = {
        "name": "cc-wizard",
        "dataset": "credit-card-applications",
        "target": "card",
        "positive_label": "yes",
        "estimator": "logistic_regression",
        "iterations": "500",
        "drop": ["share", "expenditure"],
        "sensitive_features": ["owner"],
        "min_metric": "0.8",
        "max_fairness_gap": "0.2",
        "no_regression": "on",
        "regression_tolerance": "0.01",
        "deploy_staging": "on",
        "deploy_production": "on",
        "approver_group": "reviewers",
        "min_approvals": "1",
        "strategy": "canary",
        "canary_percent": "10",
        "retrain_on_drift": "on",
        "then": "save",
    }
    data.update(extra)
    return data


def test_wizard_without_datasets_says_to_upload_one(client_for, editor):
    assert "Upload a dataset first." in client_for(editor).get("/pipelines/new/wizard/").content.decode()


def test_wizard_writes_a_valid_pipeline(client_for, editor, demo_dataset):
    response = client_for(editor).post("/pipelines/new/wizard/", wizard_data())
    assert response.status_code == 302, response.content.decode()[-2000:]
    pipeline = Pipeline.objects.get(slug="cc-wizard")
    spec = pipeline.current_version.spec
    assert [s["name"] for s in spec["stages"]] == ["data", "train", "gate", "staging", "review", "production"]
    text = pipeline.current_version.yaml_text
    assert "sklearn.linear_model.LogisticRegression" in text and "max_iter: 500" in text
    assert "drop: [share, expenditure]" in text and "canary_percent: 10" in text


def test_wizard_can_hand_over_to_the_yaml_editor(client_for, editor, demo_dataset):
    response = client_for(editor).post("/pipelines/new/wizard/", wizard_data(then="edit"))
    assert response.status_code == 200
    assert "sklearn.linear_model.LogisticRegression" in response.content.decode()
    assert not Pipeline.objects.exists()


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("target", "no-such-column", "is not a column"),
        ("drop", ["card"], "target cannot be left out"),
        ("schedule", "0 25 * * *", "hour"),
        ("name", "", "This field is required"),
    ],
)
def test_wizard_bad_input_is_400_with_a_message(client_for, editor, demo_dataset, field, value, message):
    response = client_for(editor).post("/pipelines/new/wizard/", wizard_data(**{field: value}))
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not Pipeline.objects.exists()
