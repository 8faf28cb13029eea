"""Artifacts on object storage (ARTIFACT_STORAGE=s3, DESIGN §3): a real S3-API server (moto in server mode, its own
process, started here) holds the dataset, the model file and its download; a training worker with a var folder of
its own (no file shared with this process) trains from it; this process serves the model it wrote; a model file
changed in the bucket is refused by its SHA-256."""

import pytest
from django.conf import settings

from pipelines_app.engine.runs import start_run
from pipelines_app.models import ApiToken, DatasetVersion, Pipeline
from pipelines_app.serving import models_cache
from tests.conftest import DEMO_CSV, WorkerProcess, wait_for_run_to_end
from tests.conftest import S3_BUCKET as BUCKET
from tests.reliability.pipelines import small_pipeline

pytestmark = pytest.mark.django_db(transaction=True)


def disk_files():
    """Every file under this process's artifact folder, with its time of change."""
    root = settings.ARTIFACT_ROOT
    return {(p, p.stat().st_mtime_ns) for p in root.rglob("*") if p.is_file()} if root.exists() else set()


def keys(client):
    return sorted(item["Key"] for item in client.list_objects_v2(Bucket=BUCKET).get("Contents", []))


def test_a_worker_with_its_own_disk_trains_from_s3_and_the_web_serves_what_it_wrote(
    s3, redis_url, editor, environments, client, client_for, tmp_path
):
    bucket, environment = s3
    on_disk = disk_files()
    dataset = DatasetVersion.objects.create_from_upload(
        "credit-card-applications", DEMO_CSV.read_bytes(), filename="credit.csv", user=editor
    )
    assert keys(bucket) == [dataset.file.name]  # the upload went to the bucket, not to a disk

    # The training host: its own var folder (nothing of this process's disk), the same database, Redis and bucket.
    worker = WorkerProcess(redis_url, queues="default,training,monitoring", name="s3-worker",
                           var_dir=tmp_path / "training-host-var", **environment).start()  # fmt: skip
    try:
        pipeline = Pipeline.objects.create_from_yaml(small_pipeline("s3-trained", deploy_to="staging"), editor)
        run = wait_for_run_to_end(start_run(pipeline, editor), 180)
        assert run.status == "succeeded", run.error
    finally:
        worker.stop()
    version = run.model_version
    assert version.artifact.name in keys(bucket)
    assert not (tmp_path / "training-host-var" / "artifacts" / version.artifact.name).exists()
    assert disk_files() == on_disk  # nothing written to this host's artifact folder either

    # This process (a web node) serves the model the worker wrote, checked by its SHA-256 as it loads.
    token = ApiToken.objects.issue(editor)[1]
    record = {"reports": 0, "age": 37.7, "income": 4.52, "owner": "yes", "selfemp": "no", "dependents": 3,
              "months": 54, "majorcards": 1, "active": 12}  # fmt: skip
    scored = client.post("/serve/s3-trained-model/staging/invocations", {"dataframe_records": [record]},
                         content_type="application/json", HTTP_AUTHORIZATION=f"Token {token}")  # fmt: skip
    assert scored.status_code == 200 and scored["X-Model-Version"] == str(version.version)
    download = client_for(editor).get(f"/models/s3-trained-model/v{version.version}/?download=1")
    assert download.status_code == 200
    assert (
        b"".join(download.streaming_content)
        == bucket.get_object(Bucket=BUCKET, Key=version.artifact.name)["Body"].read()
    )

    # Someone changes the model file in the bucket: the next process to load it refuses it.
    bucket.put_object(Bucket=BUCKET, Key=version.artifact.name, Body=b"not the model that was trained")
    models_cache.forget()
    refused = client.post("/serve/s3-trained-model/staging/invocations", {"dataframe_records": [record]},
                          content_type="application/json", HTTP_AUTHORIZATION=f"Token {token}")  # fmt: skip
    assert refused.status_code == 503 and "it was changed or damaged" in refused.json()["message"]


def test_a_dataset_changed_in_the_bucket_is_not_read(s3, editor):
    from pipelines_app.ml.datasets import DatasetError

    bucket, _ = s3
    dataset = DatasetVersion.objects.create_from_upload(
        "credit-card-applications", DEMO_CSV.read_bytes(), filename="credit.csv", user=editor
    )
    assert len(dataset.read_frame()) == 1319
    bucket.put_object(Bucket=BUCKET, Key=dataset.file.name, Body=b"card,income\nyes,1\n")
    with pytest.raises(DatasetError, match="it was changed or damaged"):
        dataset.read_frame()


def test_s3_without_a_bucket_is_refused_at_start_with_the_setting_to_give():
    from django.core.exceptions import ImproperlyConfigured

    from mlops_site.settings import artifact_storage

    with pytest.raises(ImproperlyConfigured, match="AWS_STORAGE_BUCKET_NAME"):
        artifact_storage({"ARTIFACT_STORAGE": "s3"})
    assert artifact_storage({})["BACKEND"] == "django.core.files.storage.FileSystemStorage"
    with pytest.raises(ImproperlyConfigured, match="ARTIFACT_STORAGE is s3 or a storage class"):
        artifact_storage({"ARTIFACT_STORAGE": "ftp"})
