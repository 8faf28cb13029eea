"""The audit log is append-only and hash-chained; verify_audit catches tampering."""

import importlib
import os
import subprocess
import sys

import pytest
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection, transaction

from pipelines_app.models import AuditEvent
from pipelines_app.models.audit import GENESIS_HASH, AppendOnlyError
from tests.conftest import ROOT, database_url_for_workers


def write_events(actor, n=5):
    return [AuditEvent.objects.record(actor, "pipeline.saved", actor, {"n": i, "when": "today"}) for i in range(n)]


def verify():
    from io import StringIO

    out = StringIO()
    call_command("verify_audit", stdout=out)
    return out.getvalue()


def test_events_chain_from_genesis(editor):
    events = write_events(editor, 3)
    assert events[0].prev_hash == GENESIS_HASH
    assert events[1].prev_hash == events[0].hash
    assert events[2].prev_hash == events[1].hash
    assert "3 events verified" in verify()


def test_the_model_refuses_changes(editor):
    event = write_events(editor, 1)[0]
    event.verb = "something.else"
    with pytest.raises(AppendOnlyError):
        event.save()
    with pytest.raises(AppendOnlyError):
        event.delete()
    with pytest.raises(AppendOnlyError):
        AuditEvent.objects.filter(pk=event.pk).update(verb="x")
    with pytest.raises(AppendOnlyError):
        AuditEvent.objects.all().delete()


def test_the_database_refuses_updates(editor):
    event = write_events(editor, 1)[0]
    with (
        pytest.raises(DatabaseError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute("UPDATE pipelines_app_auditevent SET verb = 'x' WHERE id = %s", [event.pk])


def _tamper(sql, params):
    """What someone with rights to change the schema could do: lift the guards, then edit."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # ALTER TABLE refuses pending FK checks
            cursor.execute("ALTER TABLE pipelines_app_auditevent DISABLE TRIGGER USER")
        else:
            cursor.execute("DROP TRIGGER pipelines_app_audit_no_update")
            cursor.execute("DROP TRIGGER pipelines_app_audit_no_delete")
        cursor.execute(sql, params)


def test_altering_a_row_makes_verify_audit_fail(editor):
    events = write_events(editor, 5)
    _tamper(
        "UPDATE pipelines_app_auditevent SET payload = %s WHERE id = %s", ['{"n": 99, "when": "today"}', events[2].pk]
    )
    with pytest.raises(CommandError, match=f"broken at event {events[2].pk}.*altered"):
        verify()


def test_removing_a_row_makes_verify_audit_fail(editor):
    events = write_events(editor, 5)
    _tamper("DELETE FROM pipelines_app_auditevent WHERE id = %s", [events[1].pk])
    with pytest.raises(CommandError, match=f"broken at event {events[2].pk}.*removed or changed"):
        verify()


@pytest.mark.django_db(transaction=True)
def test_verify_audit_exit_code_from_the_command_line(editor):
    """As an operator runs it, against the same database: 0 while intact, 1 once altered."""
    events = write_events(editor, 3)
    env = {**os.environ, "DATABASE_URL": database_url_for_workers()}

    def run():
        return subprocess.run(
            [sys.executable, "manage.py", "verify_audit"], cwd=ROOT, capture_output=True, text=True, env=env, timeout=60
        )

    intact = run()
    assert intact.returncode == 0, intact.stderr
    assert "3 events verified" in intact.stdout
    try:
        _tamper("UPDATE pipelines_app_auditevent SET actor_name = %s WHERE id = %s", ["mallory", events[0].pk])
        broken = run()
    finally:
        _restore_guard()
    assert broken.returncode == 1
    assert f"broken at event {events[0].pk}" in broken.stderr


def _restore_guard():
    no_update = importlib.import_module("pipelines_app.migrations.0002_roles_and_audit_guard").FORBID_UPDATE
    no_delete = importlib.import_module("pipelines_app.migrations.0018_audit_guard_delete").FORBID_DELETE
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("ALTER TABLE pipelines_app_auditevent ENABLE TRIGGER USER")
        else:
            for sql in no_update["sqlite"] + no_delete["sqlite"]:
                cursor.execute(sql)
