"""What a careful operator checks before putting the site on a network: headers, cookies, redirects, escaping,
and Django's own deployment checklist with production settings."""

import os
import secrets
import subprocess
import sys
from pathlib import Path

from tests.conftest import PASSWORD

ROOT = Path(__file__).resolve().parents[2]


def test_pages_carry_a_content_security_policy_without_inline_scripts(client_for, viewer):
    response = client_for(viewer).get("/")
    policy = response["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "'unsafe-inline'" not in policy.split("script-src")[1].split(";")[0]
    assert "frame-ancestors 'none'" in policy and "object-src 'none'" in policy
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"


def test_no_template_runs_inline_script_or_handlers():
    """The policy forbids inline script: a template that used one would break in the browser."""
    offenders = []
    for template in (ROOT / "templates").rglob("*.html"):
        if template.name == "report.html":  # the downloadable report: its own policy allows its inline scripts
            continue
        text = template.read_text()
        for marker in (" onclick=", " onchange=", " onsubmit=", " onload=", "javascript:", "<script>"):
            if marker in text:
                offenders.append(f"{template.relative_to(ROOT)}: {marker.strip()}")
    assert not offenders


def test_the_session_cookie_is_http_only_and_same_site(client, viewer):
    response = client.post("/accounts/login/", {"username": viewer.username, "password": PASSWORD})
    cookie = response.cookies["sessionid"]
    assert cookie["httponly"] and cookie["samesite"] == "Lax"


def test_login_does_not_redirect_to_another_site(client, viewer):
    for target in ("https://evil.example/", "//evil.example/", "/\\evil.example"):
        response = client.post(
            f"/accounts/login/?next={target}", {"username": viewer.username, "password": PASSWORD, "next": target}
        )
        assert response.status_code == 302 and "evil.example" not in response["Location"]
        client.logout()


def test_markup_in_what_users_write_is_shown_as_text(client_for, editor, credit_pipeline):
    from pipelines_app.models import RegisteredModel

    model = RegisteredModel.objects.create(name="xss-check")
    response = client_for(editor).post(
        f"/models/{model.name}/settings/", {"description": '<script>alert("x")</script><img src=x onerror=alert(1)>'}
    )
    assert response.status_code == 302
    page = client_for(editor).get(f"/models/{model.name}/").content.decode()
    assert "<script>alert" not in page and "<img src=x" not in page
    assert "&lt;script&gt;alert" in page


def _settings_process(extra_env, *args):
    # Without what the test run itself sets (Playwright's tests allow sync database calls in async contexts).
    dropped = ("DEBUG", "DJANGO_SETTINGS_MODULE", "DJANGO_ALLOW_ASYNC_UNSAFE")
    env = {key: value for key, value in os.environ.items() if key not in dropped}
    env.update(extra_env)
    return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True)


def test_debug_is_off_unless_asked_for(tmp_path):
    shown = _settings_process(
        {"MLOPS_VAR_DIR": str(tmp_path)}, "shell", "-c", "from django.conf import settings; print(settings.DEBUG)"
    )
    assert shown.stdout.strip().splitlines()[-1] == "False", shown.stderr


def test_the_deployment_checklist_passes_with_production_settings(tmp_path):
    production = {
        "MLOPS_VAR_DIR": str(tmp_path),
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": "mlops.example.com",
        "SECURE_COOKIES": "1",
        "SECURE_SSL_REDIRECT": "1",
        "SECURE_HSTS_SECONDS": "31536000",
        "SECURE_HSTS_INCLUDE_SUBDOMAINS": "1",
        "SECURE_HSTS_PRELOAD": "1",
    }
    checked = _settings_process(production, "check", "--deploy", "--fail-level", "WARNING")
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "no issues" in checked.stdout


def test_tokens_are_never_logged_or_audited(client, client_for, editor, caplog):
    import json
    import logging

    from pipelines_app.models import ApiToken, AuditEvent
    from tests.conftest import api_client

    caplog.set_level(logging.DEBUG)
    page = client_for(editor).post("/accounts/tokens/", {"name": "ci", "predict_only": ""})
    assert page.status_code in (200, 302)
    _, secret = ApiToken.objects.issue(editor)
    wrong = secret[:-4] + "abcd"
    for token in (secret, wrong):
        client.post("/serve/nothing/staging/invocations", "{}", "application/json", HTTP_AUTHORIZATION=f"Token {token}")
        api_client(editor).get("/api/v1/runs/", HTTP_AUTHORIZATION=f"Bearer {token}")
    stored = [t.name for t in ApiToken.objects.all()]
    assert stored  # tokens exist, and only their hashes are kept
    assert not ApiToken.objects.filter(key_hash__in=[secret, wrong]).exists()
    audit = json.dumps(list(AuditEvent.objects.values("verb", "payload")), default=str)
    for token in (secret, wrong):
        assert token not in caplog.text and token not in audit


def test_markup_in_a_pipeline_file_and_its_note_is_text(client_for, editor, environments, demo_dataset):
    from pipelines_app.models import Pipeline

    text = """version: 1
name: xss-diff
model: xss-diff
description: "<script>alert('first')</script>"
stages:
  - name: data
    steps:
      - {name: load, type: ingest, dataset: credit-card-applications}
"""
    pipeline = Pipeline.objects.create_from_yaml(text, editor)
    pipeline.save_version(text.replace("first", "second<img src=x onerror=alert(2)>"), editor, note="<b>bold</b>")
    page = client_for(editor).get(f"/pipelines/{pipeline.slug}/diff/").content.decode()
    assert "<script>alert(" not in page and "<img src=x" not in page
    assert "&lt;script&gt;" in page
    # The version note is shown on the pipeline's page, among its versions.
    detail = client_for(editor).get(f"/pipelines/{pipeline.slug}/").content.decode()
    assert "<b>bold</b>" not in detail and "&lt;b&gt;bold&lt;/b&gt;" in detail
