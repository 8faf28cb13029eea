"""The API tokens page under the user's menu: issue (shown once), use, revoke."""

from pipelines_app.models import ApiToken, AuditEvent


def test_empty_state(client_for, viewer):
    assert "No tokens yet." in client_for(viewer).get("/accounts/tokens/").content.decode()


def test_it_issues_a_token_shown_once_that_works(client_for, editor, client):
    c = client_for(editor)
    page = c.post("/accounts/tokens/", {"name": "ci job"}).content.decode()
    token = ApiToken.objects.get(user=editor)
    raw = page.split('id="new-token">')[1].split("<")[0]
    assert raw.startswith(token.prefix)
    assert client.get("/api/v1/me/", HTTP_AUTHORIZATION=f"Token {raw}").json()["username"] == editor.username
    again = c.get("/accounts/tokens/").content.decode()
    assert raw not in again and token.prefix in again
    assert AuditEvent.objects.filter(verb="token.issued", actor_name=editor.username).exists()


def test_a_token_needs_a_name(client_for, editor):
    response = client_for(editor).post("/accounts/tokens/", {"name": ""})
    assert response.status_code == 400
    assert "This field is required." in response.content.decode()
    assert not ApiToken.objects.exists()


def test_revoke_stops_the_token(client_for, editor, client):
    c = client_for(editor)
    token, raw = ApiToken.objects.issue(editor, name="old")
    assert c.post(f"/accounts/tokens/{token.pk}/revoke/").status_code == 302
    assert client.get("/api/v1/me/", HTTP_AUTHORIZATION=f"Token {raw}").status_code == 401


def test_revoke_rejects_get(client_for, editor):
    token, _ = ApiToken.objects.issue(editor)
    assert client_for(editor).get(f"/accounts/tokens/{token.pk}/revoke/").status_code == 405


def test_nobody_revokes_another_users_token(client_for, editor, admin_user):
    token, _ = ApiToken.objects.issue(editor)
    assert client_for(admin_user).post(f"/accounts/tokens/{token.pk}/revoke/").status_code == 404
    token.refresh_from_db()
    assert token.revoked_at is None


def test_predict_only_tokens_are_labelled(client_for, editor):
    client_for(editor).post("/accounts/tokens/", {"name": "scorer", "predict_only": "on"})
    assert ApiToken.objects.get().predict_only
    assert "predictions only" in client_for(editor).get("/accounts/tokens/").content.decode()
