"""/api/v1/datasets/: upload a CSV as a new version; bad files get 400 and store nothing."""

import pytest

from pipelines_app.models import AuditEvent, Dataset, DatasetVersion
from tests.conftest import DEMO_CSV, api_client


@pytest.fixture(autouse=True)
def _artifacts_in_tmp(settings, tmp_path):
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path / "art")},
        },
    }
    return tmp_path / "art"


def upload(user, content, name="credit", filename="data.csv"):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return api_client(user).post(
        "/api/v1/datasets/", {"name": name, "file": SimpleUploadedFile(filename, content)}, format="multipart"
    )


def stored_files(root):
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


def test_upload_creates_a_version_with_profile(editor, _artifacts_in_tmp):
    response = upload(editor, DEMO_CSV.read_bytes())
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["dataset"] == "credit" and body["number"] == 1
    assert body["row_count"] == 1319 and body["column_count"] == 12
    assert body["schema"]["card"] == "categorical" and body["schema"]["income"] == "numeric"
    assert body["profile"]["columns_profile"]["owner"]["frequencies"]["no"] > 0
    import hashlib

    assert body["sha256"] == hashlib.sha256(DEMO_CSV.read_bytes()).hexdigest()
    assert len(stored_files(_artifacts_in_tmp)) == 1
    assert AuditEvent.objects.filter(verb="dataset.uploaded").count() == 1


def test_the_same_name_makes_a_new_version(editor):
    upload(editor, DEMO_CSV.read_bytes())
    response = upload(editor, DEMO_CSV.read_bytes()[:5000].rsplit(b"\n", 1)[0] + b"\n")
    assert response.status_code == 201
    assert response.json()["number"] == 2
    assert Dataset.objects.get().versions.count() == 2
    listing = api_client(editor).get("/api/v1/datasets/").json()
    assert listing["results"][0]["latest_version"]["number"] == 2


BAD_FILES = {
    "empty": (b"", "empty"),
    "binary": (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "not a CSV"),
    "ragged": (b"a,b,c\n1,2,3\n4,5\n", "Line 3"),
    "encoding": ("a,b\nnaïve,1\n".encode("latin-1"), "UTF-8"),
    "duplicate columns": (b"age,age,card\n1,2,yes\n", "'age'"),
    "single column": (b"income\n1\n2\n", "single column"),
    "header only": (b"a,b,c\n", "no data"),
}


@pytest.mark.parametrize("case", BAD_FILES)
def test_bad_files_are_refused_and_nothing_is_stored(editor, _artifacts_in_tmp, case):
    content, words = BAD_FILES[case]
    response = upload(editor, content)
    assert response.status_code == 400, response.content
    assert words.lower() in response.json()["detail"].lower()
    assert not Dataset.objects.exists() and not DatasetVersion.objects.exists()
    assert stored_files(_artifacts_in_tmp) == []


def test_over_the_size_limit_is_413(editor, settings, _artifacts_in_tmp):
    settings.DATASET_MAX_BYTES = 1000
    response = upload(editor, DEMO_CSV.read_bytes())
    assert response.status_code == 413
    assert "the limit is" in response.json()["detail"]
    assert not Dataset.objects.exists()


def test_missing_fields_are_400(editor):
    response = api_client(editor).post("/api/v1/datasets/", {"name": "x"}, format="multipart")
    assert response.status_code == 400
    assert "file" in response.json()


def test_a_name_without_letters_is_400(editor):
    response = upload(editor, DEMO_CSV.read_bytes(), name="!!!")
    assert response.status_code == 400
    assert not Dataset.objects.exists()


def test_viewer_may_not_upload(viewer):
    assert upload(viewer, DEMO_CSV.read_bytes()).status_code == 403
    assert not Dataset.objects.exists()


def test_the_reserved_name_upload_is_refused(editor):
    response = upload(editor, DEMO_CSV.read_bytes(), name="upload")
    assert response.status_code == 400
    assert "reserved" in response.json()["detail"]
