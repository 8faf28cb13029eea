"""Login, logout, password change and the login rate limit."""

import pytest

from pipelines_app.models import AuditEvent
from tests.conftest import PASSWORD


def login(client, username, password):
    return client.post("/accounts/login/", {"username": username, "password": password})


def test_login_page_renders_with_csrf(client, db):
    response = client.get("/accounts/login/")
    assert response.status_code == 200
    assert 'name="csrfmiddlewaretoken"' in response.content.decode()


def test_it_logs_in_and_shows_the_shell(client, editor):
    response = login(client, editor.username, PASSWORD)
    assert response.status_code == 302
    page = client.get(response["Location"]).content.decode()
    for label in [
        "Overview",
        "Pipelines",
        "Runs",
        "Approvals",
        "Models",
        "Deployments",
        "Monitoring",
        "Datasets",
        "Audit",
    ]:
        assert f">{label}" in page
    assert "eddie-editor" in page
    assert ">editor</span>" in page
    assert AuditEvent.objects.filter(verb="account.login", actor_name=editor.username).exists()


def test_wrong_password_is_a_400_with_a_message(client, editor):
    response = login(client, editor.username, "wrong-password")
    assert response.status_code == 400
    assert "Please enter a correct username and password" in response.content.decode()
    assert AuditEvent.objects.filter(verb="account.login_failed", actor_name=editor.username).exists()


def test_logout_needs_post(client_for, editor):
    c = client_for(editor)
    assert c.get("/accounts/logout/").status_code == 405
    assert c.post("/accounts/logout/").status_code == 302
    assert c.get("/").status_code == 302


def test_repeated_failures_lock_the_login(client, editor, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        login(client, editor.username, "wrong-password")
    response = login(client, editor.username, PASSWORD)
    assert response.status_code == 429
    assert "Too many failed logins" in response.content.decode()


def test_password_change(client_for, editor, client):
    c = client_for(editor)
    response = c.post(
        "/accounts/password/",
        {"old_password": PASSWORD, "new_password1": "a-Fresh-pass-987", "new_password2": "a-Fresh-pass-987"},
    )
    assert response.status_code == 302
    assert login(client, editor.username, PASSWORD).status_code == 400
    assert login(client, editor.username, "a-Fresh-pass-987").status_code == 302
    assert AuditEvent.objects.filter(verb="account.password_changed").count() == 1


@pytest.mark.parametrize(
    ("old", "new1", "new2", "message"),
    [
        ("wrong", "a-Fresh-pass-987", "a-Fresh-pass-987", "old password was entered incorrectly"),
        (PASSWORD, "a-Fresh-pass-987", "another-Pass-123", "didn’t match"),
        (PASSWORD, "short", "short", "too short"),
    ],
)
def test_password_change_rejects_bad_input(client_for, editor, old, new1, new2, message):
    response = client_for(editor).post(
        "/accounts/password/", {"old_password": old, "new_password1": new1, "new_password2": new2}
    )
    assert response.status_code == 400
    assert message in response.content.decode()
    editor.refresh_from_db()
    assert editor.check_password(PASSWORD)
