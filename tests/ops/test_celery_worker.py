"""A real Celery worker process runs a real task that writes to the database."""

import pytest
from django.db import transaction

from pipelines_app.models import WorkerHeartbeat
from pipelines_app.tasks import request_worker_heartbeat
from tests.conftest import wait_for

pytestmark = pytest.mark.django_db(transaction=True)


def test_worker_process_writes_heartbeat_row_after_commit(celery_worker_process):
    WorkerHeartbeat.objects.all().delete()
    with transaction.atomic():
        request_worker_heartbeat()
        # Enqueued on commit: nothing can have run while the transaction is open.
        assert not WorkerHeartbeat.objects.exists()
    beat = wait_for(lambda: WorkerHeartbeat.objects.first(), 30, message="a heartbeat row from the worker")
    assert beat.host.startswith("testworker@")


def test_nothing_is_enqueued_when_the_transaction_rolls_back(celery_worker_process):
    WorkerHeartbeat.objects.all().delete()
    with pytest.raises(RuntimeError), transaction.atomic():
        request_worker_heartbeat()
        raise RuntimeError("roll back")
    # A second request after it proves the worker is draining the queue;
    # exactly one row then means the rolled-back request never reached it.
    request_worker_heartbeat()
    wait_for(lambda: WorkerHeartbeat.objects.exists(), 30, message="the heartbeat after the rollback")
    assert "record_worker_heartbeat" in celery_worker_process.output()
    assert WorkerHeartbeat.objects.count() == 1


def test_overview_check_button_asks_workers_to_report(celery_worker_process, client_for, viewer):
    WorkerHeartbeat.objects.all().delete()
    response = client_for(viewer).post("/system/workers/check/")
    assert response.status_code == 302
    wait_for(lambda: WorkerHeartbeat.objects.exists(), 30, message="a heartbeat after the button")
    page = client_for(viewer).get("/")
    assert "online" in page.content.decode()
    assert "testworker@" in page.content.decode()


def test_check_button_rejects_get(client_for, viewer):
    assert client_for(viewer).get("/system/workers/check/").status_code == 405
