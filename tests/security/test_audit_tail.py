"""Attack 11: removing the newest audit events used to leave `verify_audit` saying "intact".

The database now refuses DELETE as it refuses UPDATE; and for whoever can lift that guard, an anchor (count and
head hash, kept outside the database) taken earlier shows the loss with `verify_audit --against`.
"""

import importlib
import os
import subprocess
import sys
from io import StringIO

import pytest
from celery.schedules import crontab
from django.conf import settings as django_settings
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection, transaction

from pipelines_app.models import AuditEvent
from pipelines_app.tasks import anchor_audit_chain
from tests.conftest import ROOT, database_url_for_workers

NO_DELETE = importlib.import_module("pipelines_app.migrations.0018_audit_guard_delete").FORBID_DELETE


def write_events(actor, n):
    return [AuditEvent.objects.record(actor, "pipeline.saved", actor, {"n": i}) for i in range(n)]


def verify_audit(*args):
    out = StringIO()
    call_command("verify_audit", *args, stdout=out)
    return out.getvalue()


def delete_tail_behind_the_triggers_back(first):
    """What an attacker with the schema owner's rights does: lift the DELETE guard, delete every event from
    ``first`` on, put the guard back."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # ALTER TABLE refuses pending FK checks
            cursor.execute("ALTER TABLE pipelines_app_auditevent DISABLE TRIGGER pipelines_app_audit_no_delete")
        else:
            cursor.execute("DROP TRIGGER pipelines_app_audit_no_delete")
        cursor.execute("DELETE FROM pipelines_app_auditevent WHERE id >= %s", [first.pk])
        if connection.vendor == "postgresql":
            cursor.execute("ALTER TABLE pipelines_app_auditevent ENABLE TRIGGER pipelines_app_audit_no_delete")
        else:
            for sql in NO_DELETE["sqlite"]:
                cursor.execute(sql)


def test_the_database_refuses_to_delete_the_newest_event(editor):
    newest = write_events(editor, 3)[-1]
    with (
        pytest.raises(DatabaseError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute("DELETE FROM pipelines_app_auditevent WHERE id = %s", [newest.pk])
    assert AuditEvent.objects.filter(pk=newest.pk).exists()


def test_verify_audit_prints_the_head_hash_and_the_count(editor):
    newest = write_events(editor, 3)[-1]
    out = verify_audit()
    assert "3 events verified" in out
    assert f"head: {newest.hash} (3 events)" in out


def test_anchor_appends_the_count_and_head_hash_to_the_file(editor, tmp_path):
    anchors = tmp_path / "anchors.log"
    first = write_events(editor, 2)[-1]
    verify_audit("--anchor", str(anchors))
    second = write_events(editor, 1)[-1]
    verify_audit("--anchor", str(anchors))

    lines = [line.split() for line in anchors.read_text().splitlines()]
    assert [(count, head) for _, count, head in lines] == [("2", first.hash), ("3", second.hash)]
    assert "consistent with the 2 anchors" in verify_audit("--against", str(anchors))


def test_a_tail_removed_behind_the_triggers_back_is_caught_against_an_earlier_anchor(editor, tmp_path):
    anchors = tmp_path / "anchors.log"
    events = write_events(editor, 5)
    verify_audit("--anchor", str(anchors))

    delete_tail_behind_the_triggers_back(events[-2])

    assert "3 events verified" in verify_audit()  # the chain alone cannot tell
    with pytest.raises(CommandError, match="has 3 events, fewer than the 5 anchored"):
        verify_audit("--against", str(anchors))


def test_a_tail_replaced_by_new_events_is_caught_as_diverging_from_the_anchor(editor, tmp_path):
    anchors = tmp_path / "anchors.log"
    events = write_events(editor, 5)
    verify_audit("--anchor", str(anchors))

    delete_tail_behind_the_triggers_back(events[-2])
    write_events(editor, 3)  # the chain grows past the anchor again, on a different history

    assert "6 events verified" in verify_audit()
    with pytest.raises(CommandError, match="diverges from the anchor.*after 5 events"):
        verify_audit("--against", str(anchors))


@pytest.mark.django_db(transaction=True)
def test_verify_audit_against_exits_non_zero_from_the_command_line(editor, tmp_path):
    """As an operator runs it, on the same database: 0 while the anchor holds, 1 once the tail is gone."""
    anchors = tmp_path / "anchors.log"
    events = write_events(editor, 4)
    env = {**os.environ, "DATABASE_URL": database_url_for_workers(), "MLOPS_VAR_DIR": str(django_settings.VAR_DIR)}

    def run(*args):
        return subprocess.run(
            [sys.executable, "manage.py", "verify_audit", *args],
            cwd=ROOT,
            capture_output=True,
            text=True,
            env=env,
            timeout=60,
        )

    anchored = run("--anchor", str(anchors))
    assert anchored.returncode == 0, anchored.stderr
    delete_tail_behind_the_triggers_back(events[-1])

    caught = run("--against", str(anchors))
    assert caught.returncode == 1
    assert "fewer than the 4 anchored" in caught.stderr
    assert run("--against", str(tmp_path / "missing.log")).returncode == 1


def test_the_beat_task_writes_an_anchor(editor, settings, tmp_path):
    settings.AUDIT_ANCHOR_PATH = tmp_path / "anchors" / "audit-anchors.log"
    newest = write_events(editor, 3)[-1]

    anchor_audit_chain.apply().get()

    (_, count, head), *_ = [line.split() for line in settings.AUDIT_ANCHOR_PATH.read_text().splitlines()]
    assert (count, head) == ("3", newest.hash)
    assert "consistent with the 1 anchors" in verify_audit("--against", str(settings.AUDIT_ANCHOR_PATH))


def test_beat_runs_the_anchor_task_once_a_day():
    entry = next(e for e in django_settings.CELERY_BEAT_SCHEDULE.values() if e["task"].endswith("anchor_audit_chain"))
    schedule = entry["schedule"]
    assert isinstance(schedule, crontab)
    assert len(schedule.hour) == 1 and len(schedule.minute) == 1 and len(schedule.day_of_week) == 7
