"""Settings come from the environment, with embedded defaults when it is empty."""

import json
import os
import subprocess
import sys

from tests.conftest import ROOT

PROBE = (
    "import json, django; from django.conf import settings; django.setup(); "
    "print(json.dumps({'engine': settings.DATABASES['default']['ENGINE'], "
    "'name': str(settings.DATABASES['default']['NAME']), 'debug': settings.DEBUG, "
    "'broker': settings.CELERY_BROKER_URL, 'hosts': settings.ALLOWED_HOSTS, 'var': str(settings.VAR_DIR), "
    "'artifacts': str(settings.ARTIFACT_ROOT)}))"
)
OURS = ("DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL", "DEBUG", "ALLOWED_HOSTS", "SECRET_KEY", "ARTIFACT_ROOT")


def probe(tmp_path, **extra):
    env = {k: v for k, v in os.environ.items() if k not in OURS}
    env.update(DJANGO_SETTINGS_MODULE="mlops_site.settings", MLOPS_VAR_DIR=str(tmp_path), **extra)
    result = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    return result


def test_with_no_environment_the_embedded_defaults_are_used(tmp_path):
    result = probe(tmp_path)
    assert result.returncode == 0, result.stderr
    found = json.loads(result.stdout)
    assert found["engine"] == "django.db.backends.sqlite3"
    assert found["name"] == str(tmp_path / "db.sqlite3")
    assert found["debug"] is False
    assert found["artifacts"] == str(tmp_path / "artifacts")
    assert found["broker"].startswith("redis://")
    # A secret key was made once and kept, readable by its owner only.
    assert oct((tmp_path / "secret_key").stat().st_mode & 0o777) == "0o600"


def test_private_redis_address_is_picked_up_when_no_redis_url(tmp_path):
    (tmp_path / "redis").mkdir()
    (tmp_path / "redis" / "url").write_text("redis://127.0.0.1:45678/0")
    found = json.loads(probe(tmp_path).stdout)
    assert found["broker"] == "redis://127.0.0.1:45678/0"


def test_database_url_selects_postgresql(tmp_path):
    result = probe(
        tmp_path,
        DATABASE_URL="postgres://postgres@127.0.0.1:5432/somewhere",
        REDIS_URL="redis://10.1.2.3:6380/2",
        ALLOWED_HOSTS="ml.example.com, api.example.com",
        DEBUG="true",
    )
    assert result.returncode == 0, result.stderr
    found = json.loads(result.stdout)
    assert found["engine"] == "django.db.backends.postgresql"
    assert found["name"] == "somewhere"
    assert found["broker"] == "redis://10.1.2.3:6380/2"
    assert found["hosts"] == ["ml.example.com", "api.example.com"]
    assert found["debug"] is True


def test_a_malformed_boolean_fails_loudly(tmp_path):
    result = probe(tmp_path, DEBUG="perhaps")
    assert result.returncode != 0
    assert "DEBUG must be true or false" in result.stderr


def test_metrics_scrapers_are_this_machine_unless_told_and_none_means_none(tmp_path):
    def allowed(**extra):
        code = (
            "import django; from django.conf import settings; django.setup(); print(settings.METRICS_ALLOWED_ADDRESSES)"
        )
        env = {k: v for k, v in os.environ.items() if k not in OURS}
        env.update(DJANGO_SETTINGS_MODULE="mlops_site.settings", MLOPS_VAR_DIR=str(tmp_path), **extra)
        return subprocess.run(
            [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
        )

    assert allowed().stdout.strip() == "['127.0.0.1', '::1']"
    assert allowed(METRICS_ALLOWED_ADDRESSES="10.0.0.0/8, 192.0.2.7").stdout.strip() == "['10.0.0.0/8', '192.0.2.7']"
    assert allowed(METRICS_ALLOWED_ADDRESSES="none").stdout.strip() == "[]"
    refused = allowed(METRICS_ALLOWED_ADDRESSES="10.0.0.0/8,prometheus.internal")
    assert refused.returncode != 0 and "'prometheus.internal' is not an address or network" in refused.stderr
