"""The dataset pages: list, upload in the browser, profile, preview, schema correction."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from pipelines_app.models import Dataset
from tests.conftest import DEMO_CSV


@pytest.fixture(autouse=True)
def _artifacts_in_tmp(settings, tmp_path):
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path / "art")},
        },
    }


def test_empty_state(client_for, viewer):
    page = client_for(viewer).get("/datasets/").content.decode()
    assert "No datasets yet." in page
    assert "dataset-upload" not in page and "/datasets/upload/" not in page  # viewers cannot upload


def test_editor_uploads_in_the_browser(client_for, editor):
    c = client_for(editor)
    response = c.post(
        "/datasets/upload/", {"name": "applications", "file": SimpleUploadedFile("a.csv", DEMO_CSV.read_bytes())}
    )
    assert response.status_code == 302
    page = c.get(response["Location"]).content.decode()
    assert "Uploaded applications@1: 1319 rows, 12 columns." in page
    assert "plotly-cartesian" in page and 'id="profile-data"' in page
    assert "<td>37.66667</td>" in page  # the first row's age, in the preview


def test_bad_upload_in_the_browser_shows_the_reason(client_for, editor):
    response = client_for(editor).post(
        "/datasets/upload/", {"name": "bad", "file": SimpleUploadedFile("a.csv", b"a,b\n1\n")}
    )
    assert response.status_code == 400
    assert "Line 2" in response.content.decode()
    assert not Dataset.objects.exists()


def test_viewer_cannot_upload(client_for, viewer):
    response = client_for(viewer).post(
        "/datasets/upload/", {"name": "x", "file": SimpleUploadedFile("a.csv", DEMO_CSV.read_bytes())}
    )
    assert response.status_code == 403
    assert not Dataset.objects.exists()


def test_upload_rejects_get(client_for, editor):
    assert client_for(editor).get("/datasets/upload/").status_code == 405


def test_detail_shows_versions_and_profile(client_for, viewer, demo_dataset):
    page = client_for(viewer).get("/datasets/credit-card-applications/").content.decode()
    assert demo_dataset.sha256[:16] in page
    assert ">income<" in page or "income</th>" in page
    assert "v1" in page


@pytest.mark.parametrize("version", ["9", "abc"])
def test_unknown_version_is_404(client_for, viewer, demo_dataset, version):
    assert client_for(viewer).get(f"/datasets/credit-card-applications/?version={version}").status_code == 404


def test_schema_correction_recomputes_the_profile(client_for, editor, demo_dataset):
    columns = demo_dataset.columns()
    form = {f"kind_{i}": demo_dataset.schema[c] for i, c in enumerate(columns)}
    form[f"kind_{columns.index('dependents')}"] = "categorical"
    form["target"] = "card"
    response = client_for(editor).post("/datasets/credit-card-applications/v1/schema/", form)
    assert response.status_code == 302
    demo_dataset.refresh_from_db()
    assert demo_dataset.schema["dependents"] == "categorical"
    assert demo_dataset.target == "card"
    assert "frequencies" in demo_dataset.profile["columns_profile"]["dependents"]


def test_schema_marking_text_numeric_is_refused(client_for, editor, demo_dataset):
    columns = demo_dataset.columns()
    form = {f"kind_{i}": demo_dataset.schema[c] for i, c in enumerate(columns)}
    form[f"kind_{columns.index('owner')}"] = "numeric"
    c = client_for(editor)
    response = c.post("/datasets/credit-card-applications/v1/schema/", form, follow=True)
    assert response.status_code == 400 and "owner" in response.content.decode()
    demo_dataset.refresh_from_db()
    assert demo_dataset.schema["owner"] == "categorical"


def test_an_editor_says_what_columns_mean_and_a_bad_meaning_saves_nothing(client_for, editor, demo_dataset):
    from pipelines_app.models import AuditEvent

    columns = demo_dataset.columns()
    form = {f"kind_{i}": demo_dataset.schema[c] for i, c in enumerate(columns)}
    reports = columns.index("reports")
    c = client_for(editor)
    too_long = {**form, f"description_{reports}": "x" * 201, f"kind_{columns.index('dependents')}": "categorical"}
    refused = c.post("/datasets/credit-card-applications/v1/schema/", too_long)
    assert refused.status_code == 400
    assert "Ensure this value has at most 200 characters (it has 201)." in refused.content.decode()
    demo_dataset.refresh_from_db()
    assert demo_dataset.dataset.column_descriptions == {} and demo_dataset.schema["dependents"] == "numeric"
    meaning = {**form, f"description_{reports}": "  <b>Derogatory</b> reports ", "target": "card"}
    assert c.post("/datasets/credit-card-applications/v1/schema/", meaning).status_code == 302
    demo_dataset.dataset.refresh_from_db()
    assert demo_dataset.dataset.column_descriptions == {"reports": "<b>Derogatory</b> reports"}
    assert AuditEvent.objects.filter(verb="dataset.columns_described").count() == 1
    page = c.get("/datasets/credit-card-applications/").content.decode()
    assert 'value="&lt;b&gt;Derogatory&lt;/b&gt; reports"' in page and "<b>Derogatory" not in page


def test_viewer_cannot_change_the_schema(client_for, viewer, demo_dataset):
    response = client_for(viewer).post("/datasets/credit-card-applications/v1/schema/", {"target": "card"})
    assert response.status_code == 403


def test_columns_endpoint_feeds_the_wizard(client_for, viewer, demo_dataset):
    body = client_for(viewer).get("/datasets/credit-card-applications/columns/").json()
    card = next(c for c in body["columns"] if c["name"] == "card")
    assert card["kind"] == "categorical" and set(card["categories"]) == {"yes", "no"}
