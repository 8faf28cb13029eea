"""Nobody ships past an environment's rules (DESIGN.md §8): attacks 1-3 of the governance review.

Each test plays an editor (or a reviewer or admin with a stake in the candidate) trying to put their own model in
production without the people production trusts saying yes."""

from datetime import timedelta

import pytest
from django.contrib.auth.models import Group
from django.utils import timezone

from pipelines_app.engine.approvals import decide, expire_due
from pipelines_app.engine.deployments import promote_model_version
from pipelines_app.engine.runs import start_run
from pipelines_app.models import ApprovalRequest, Deployment, Environment, Pipeline, Trigger
from pipelines_app.models.approvals import DecisionRefused
from pipelines_app.spec import SpecInvalid
from tests.conftest import api_client, make_user
from tests.reliability.pipelines import small_pipeline


def gated(name, approval):
    """The small pipeline, then an approval step written as ``approval`` (YAML flow mapping) and a deploy to
    production."""
    return (
        small_pipeline(name)
        + f"""  - name: review
    steps:
      - {{name: approve, type: approval, {approval}}}
  - name: ship
    steps:
      - {{name: to-production, type: deploy, environment: production}}
"""
    )


def serving(environment="production"):
    deployment = Deployment.objects.filter(environment__name=environment).first()
    return deployment.primary_version if deployment else None


def refusal(request, user):
    with pytest.raises(DecisionRefused) as info:
        decide(request, user, True, "mine")
    return info.value


def saved_before_production_was_protected(text, author):
    """A file validated while production was open, then production protected: its rules were never checked
    against production's, so only the run-time rules stand between it and production."""
    production = Environment.objects.get(name="production")
    production.approver_groups, production.min_approvals = [], 0
    production.save()
    pipeline = Pipeline.objects.create_from_yaml(text, author)
    production.approver_groups, production.min_approvals = ["reviewers"], 1
    production.save()
    return pipeline


@pytest.fixture
def ready(demo_dataset, environments):
    return demo_dataset


# 1. A timeout that approves into production.


def test_a_file_whose_timeout_approves_into_production_is_refused_at_its_line(ready, editor):
    text = gated("sneaky", "approvers: [reviewers], timeout: 1s, on_timeout: approve")
    with pytest.raises(SpecInvalid) as info:
        Pipeline.objects.create_from_yaml(text, editor)
    [error] = [e for e in info.value.errors if "on_timeout" in e.message]
    assert "protected" in error.message and "production" in error.message
    assert text.splitlines()[error.line - 1].strip().startswith("- {name: approve")


def test_a_timeout_never_approves_into_production_even_from_a_file_saved_earlier(ready, editor, run_inline):
    pipeline = saved_before_production_was_protected(
        gated("sneaky", "approvers: [reviewers], timeout: 1s, on_timeout: approve"), editor
    )
    run = run_inline(start_run(pipeline, editor))
    request = ApprovalRequest.objects.get(run=run)
    assert request.on_timeout == "reject"
    ApprovalRequest.objects.filter(pk=request.pk).update(deadline=timezone.now() - timedelta(seconds=1))
    assert expire_due() == 1
    request.refresh_from_db()
    assert request.status == "timed_out" and not request.decisions.exists()
    run = run_inline(run)
    assert run.status == "timed_out"
    assert serving() is None


def test_a_request_stored_as_approve_on_timeout_still_only_times_out(ready, editor, run_inline):
    pipeline = Pipeline.objects.create_from_yaml(gated("older", "approvers: [reviewers]"), editor)
    run = run_inline(start_run(pipeline, editor))
    # A row written before the rule existed (or by hand) asks to approve on timeout.
    ApprovalRequest.objects.filter(run=run).update(on_timeout="approve", deadline=timezone.now() - timedelta(1))
    expire_due()
    assert ApprovalRequest.objects.get(run=run).status == "timed_out"
    assert run_inline(run).status == "timed_out" and serving() is None


def test_an_approval_nobody_gave_does_not_let_the_deploy_step_through(ready, editor, reviewer, run_inline):
    pipeline = Pipeline.objects.create_from_yaml(gated("quiet", "approvers: [reviewers]"), editor)
    run = run_inline(start_run(pipeline, editor))
    step_request = ApprovalRequest.objects.get(run=run)
    # The approval step's request closed as approved with no decision (as a timeout used to do).
    ApprovalRequest.objects.filter(pk=step_request.pk).update(status="approved")
    step = step_request.step_run
    step.status, step.outputs = "succeeded", {"approved": True}
    step.save()
    run = run_inline(run)
    assert serving() is None
    own = ApprovalRequest.objects.exclude(pk=step_request.pk).get(run=run)
    assert own.status == "pending" and own.environment == "production" and run.status == "waiting_approval"
    decide(own, reviewer, True, "checked")
    assert run_inline(run).status == "succeeded" and serving() == run.model_version


def test_an_environment_form_refuses_approve_on_timeout_when_protected(client_for, admin_user, environments):
    response = client_for(admin_user).post(
        "/deployments/environments/production/",
        {
            "description": "",
            "approver_groups": ["reviewers"],
            "min_approvals": 1,
            "approval_timeout_hours": 1,
            "on_timeout": "approve",
        },
    )
    assert response.status_code == 400
    assert "can only reject" in response.content.decode()
    assert Environment.objects.get(name="production").on_timeout == "reject"


# 2. Approver groups widened by the file.


def test_a_file_naming_editors_as_production_approvers_is_refused_at_the_group(ready, editor):
    text = gated("widened", "approvers: [reviewers, editors]")
    with pytest.raises(SpecInvalid) as info:
        Pipeline.objects.create_from_yaml(text, editor)
    [error] = [e for e in info.value.errors if "editors" in e.message]
    assert "may not approve deploys to production" in error.message
    assert error.path.endswith("approvers[1]")


def test_a_file_lowering_production_s_count_is_refused(ready, editor):
    production = Environment.objects.get(name="production")
    production.min_approvals = 2
    production.save()
    make_user("rob-reviewer", "reviewer")
    with pytest.raises(SpecInvalid) as info:
        Pipeline.objects.create_from_yaml(gated("fewer", "approvers: [reviewers], min_approvals: 1"), editor)
    assert any("below the 2 that production requires" in e.message for e in info.value.errors)


def test_narrowing_is_accepted_admins_only_and_more_approvals(ready, editor):
    Pipeline.objects.create_from_yaml(gated("narrow", "approvers: [admins], min_approvals: 2"), editor)


def test_an_editor_cannot_approve_into_production_even_when_the_file_named_editors(ready, editor, reviewer, run_inline):
    pipeline = saved_before_production_was_protected(gated("widened", "approvers: [reviewers, editors]"), editor)
    run = run_inline(start_run(pipeline, editor))
    request = ApprovalRequest.objects.get(run=run)
    assert request.approver_groups == ["reviewers"]
    other_editor = make_user("eve-editor", "editor")
    error = refusal(request, other_editor)
    assert error.status == 403 and "production accepts decisions only from reviewers" in str(error)
    assert (
        api_client(other_editor).post(f"/api/v1/approvals/{request.pk}/approve/", {}, format="json").status_code == 403
    )
    assert serving() is None
    decide(request, reviewer, True, "checked")
    assert run_inline(run).status == "succeeded" and serving() == run.model_version


# 3. Four-eyes for automated runs, and for admins.


def test_the_author_of_a_webhook_run_s_pipeline_cannot_approve_its_promotion(ready, run_inline, reviewer):
    # A reviewer who also edits writes the pipeline; a webhook starts it (no one "triggered" it).
    reviewer.groups.add(Group.objects.get(name="editors"))
    pipeline = Pipeline.objects.create_from_yaml(gated("hooked", "approvers: [reviewers]"), reviewer)
    run = run_inline(start_run(pipeline, None, {}, Trigger.WEBHOOK))
    request = ApprovalRequest.objects.get(run=run)
    assert request.requested_by == reviewer
    error = refusal(request, reviewer)
    assert error.status == 403 and "You wrote version 1 of pipeline 'hooked'" in str(error)
    assert not ApprovalRequest.objects.waiting_for(reviewer).filter(pk=request.pk).exists()


@pytest.mark.parametrize("trigger", [Trigger.SCHEDULE, Trigger.DRIFT])
def test_the_author_cannot_approve_runs_started_by_schedule_or_drift(ready, run_inline, admin_user, trigger):
    pipeline = Pipeline.objects.create_from_yaml(gated("auto", "approvers: [reviewers]"), admin_user)
    run = run_inline(start_run(pipeline, None, {}, trigger))
    request = ApprovalRequest.objects.get(run=run)
    assert "four-eyes" in str(refusal(request, admin_user))


def test_an_admin_who_started_the_run_cannot_approve_it(ready, run_inline, editor, admin_user, reviewer):
    pipeline = Pipeline.objects.create_from_yaml(gated("admins-own", "approvers: [reviewers]"), editor)
    run = run_inline(start_run(pipeline, admin_user))
    request = ApprovalRequest.objects.get(run=run)
    assert "You started run" in str(refusal(request, admin_user))
    assert "four-eyes" in str(refusal(request, editor))  # the author
    # An admin with no stake decides what reviewers may.
    other_admin = make_user("second-admin", "admin")
    assert decide(request, other_admin, True, "fine") == "approved"


def test_a_promotion_cannot_be_approved_by_whoever_produced_the_candidate(ready, run_inline, editor, admin_user):
    pipeline = Pipeline.objects.create_from_yaml(small_pipeline("promoted"), admin_user)
    version = run_inline(start_run(pipeline, editor)).model_version
    promoter = make_user("pat-reviewer", "reviewer")
    _, request = promote_model_version(version, Environment.objects.get(name="production"), promoter)
    assert "asked for this" in str(refusal(request, promoter))
    assert "You started run" in str(refusal(request, editor)) or "four-eyes" in str(refusal(request, editor))
    assert "You wrote version 1" in str(refusal(request, admin_user))
    assert serving() is None


def test_the_evidence_page_names_the_rule_that_stops_each_person(ready, run_inline, editor, reviewer, client_for):
    pipeline = Pipeline.objects.create_from_yaml(gated("shown", "approvers: [reviewers]"), editor)
    run = run_inline(start_run(pipeline, editor))
    request = ApprovalRequest.objects.get(run=run)
    page = client_for(editor).get(request.get_absolute_url()).content.decode()
    assert f"You started run #{run.pk}, which produced this candidate (four-eyes rule)" in page
    assert "May not decide" in page and "editor" in page
    viewer_page = client_for(make_user("vic-viewer", "viewer")).get(request.get_absolute_url()).content.decode()
    assert "production accepts decisions only from reviewers" in viewer_page
    reviewer_page = client_for(reviewer).get(request.get_absolute_url()).content.decode()
    assert 'value="approve"' in reviewer_page
