"""Environments are managed by admins at /deployments/environments/: protection rules, timeout, serving."""

import pytest

from pipelines_app.models import AuditEvent, Environment

GOOD = {
    "name": "uat",
    "description": "User acceptance",
    "approver_groups": ["reviewers"],
    "min_approvals": "1",
    "approval_timeout_hours": "24",
    "on_timeout": "reject",
}


def test_everyone_sees_the_environments_and_their_rules(client_for, viewer, environments):
    text = client_for(viewer).get("/deployments/environments/").content.decode()
    assert "1 approval from reviewers" in text and "open: deploys at once" in text
    assert "Only admins change environments." in text and "New environment" not in text


def test_an_admin_creates_an_environment(client_for, admin_user, reviewer, environments):
    response = client_for(admin_user).post("/deployments/environments/new/", {**GOOD, "public": "on"})
    assert response.status_code == 302
    uat = Environment.objects.get(name="uat")
    assert (uat.approver_groups, uat.min_approvals, uat.approval_timeout_hours, uat.public) == (
        ["reviewers"],
        1,
        24,
        True,
    )
    assert uat.protected
    event = AuditEvent.objects.get(verb="environment.created")
    assert event.actor_name == admin_user.username and event.payload["min_approvals"] == 1


@pytest.mark.parametrize("role", ["viewer", "editor", "reviewer"])
def test_only_admins_create_or_change_environments(client_for, users, environments, role):
    client = client_for(users[role])
    assert client.post("/deployments/environments/new/", GOOD).status_code == 403
    assert client.post("/deployments/environments/production/", {**GOOD, "min_approvals": "0"}).status_code == 403
    assert not Environment.objects.filter(name="uat").exists()
    assert Environment.objects.get(name="production").min_approvals == 1


@pytest.mark.parametrize(
    ("change", "field_error"),
    [
        ({"name": ""}, "This field is required"),
        ({"name": "two words"}, "Enter a valid"),
        ({"name": "production"}, "already exists"),
        ({"approver_groups": []}, "Name the groups whose members approve"),
        ({"min_approvals": "0"}, "at least one approval is needed"),
        ({"min_approvals": "5"}, "could never be reached"),
        ({"min_approvals": "-1"}, "greater than or equal to 0"),
        ({"approver_groups": ["no-such-group"]}, "Select a valid choice"),
        ({"approval_timeout_hours": "0"}, "at least one hour"),
        ({"on_timeout": "shrug"}, "Select a valid choice"),
    ],
)
def test_bad_environment_input_is_400_with_the_reason_and_saves_nothing(
    client_for, admin_user, reviewer, environments, change, field_error
):
    before = Environment.objects.count()
    response = client_for(admin_user).post("/deployments/environments/new/", {**GOOD, **change})
    assert response.status_code == 400
    assert field_error in response.content.decode()
    assert Environment.objects.count() == before
    assert not AuditEvent.objects.filter(verb="environment.created").exists()


def test_an_admin_changes_the_rules_but_not_the_name(client_for, admin_user, environments, reviewer):
    response = client_for(admin_user).post(
        "/deployments/environments/production/",
        {**GOOD, "name": "renamed", "approval_timeout_hours": "8", "min_approvals": "2"},
    )
    assert response.status_code == 302
    production = Environment.objects.get(name="production")
    assert (production.approval_timeout_hours, production.min_approvals) == (8, 2)
    assert not Environment.objects.filter(name="renamed").exists()
    event = AuditEvent.objects.get(verb="environment.changed")
    assert event.payload["min_approvals"] == 2 and "name" not in event.payload


def test_an_unknown_environment_is_404(client_for, admin_user, environments):
    assert client_for(admin_user).get("/deployments/environments/moon/").status_code == 404


def test_the_deployments_page_lists_what_serves_where(client_for, viewer, environments, credit_pipeline, run_inline):
    from pipelines_app.engine.runs import start_run

    empty = client_for(viewer).get("/deployments/").content.decode()
    assert "Nothing is deployed yet." in empty
    run = run_inline(start_run(credit_pipeline, credit_pipeline.owner))
    text = client_for(viewer).get("/deployments/").content.decode()
    row = text.split("<tbody>")[1]
    assert "staging" in row and run.model_version.get_absolute_url() in row and "system" in row
