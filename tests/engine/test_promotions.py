"""Promotions from the registry and supersession of stale requests (DESIGN.md §8)."""

from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from pipelines_app.engine.approvals import decide, expire_due
from pipelines_app.engine.deployments import PromotionRefused, promote_model_version
from pipelines_app.engine.runs import start_run
from pipelines_app.models import (
    ApprovalRequest,
    AuditEvent,
    Deployment,
    DeploymentEvent,
    Environment,
    Notification,
)
from tests.conftest import make_user, settle


@pytest.fixture
def version(credit_pipeline, run_inline, editor):
    return run_inline(start_run(credit_pipeline, editor)).model_version


def primary(version, environment):
    deployment = Deployment.objects.filter(model=version.model, environment__name=environment).first()
    return deployment.primary_version if deployment else None


def test_promoting_to_an_open_environment_deploys_at_once(version, editor):
    dev = Environment.objects.create(name="dev")
    outcome, deployment = promote_model_version(version, dev, editor)
    assert outcome == "deployed" and primary(version, "dev") == version
    event = DeploymentEvent.objects.get(deployment=deployment)
    assert (event.action, event.actor_name) == ("deploy", editor.username)
    assert AuditEvent.objects.filter(verb="deployment.deployed", actor_name=editor.username).exists()


def test_promoting_to_a_protected_environment_waits_for_approval_then_deploys_once(version, editor, reviewer):
    production = Environment.objects.get(name="production")
    production.approval_timeout_hours = 5
    production.save()
    outcome, request = promote_model_version(version, production, editor)
    settle()
    assert outcome == "pending" and primary(version, "production") is None
    assert request.requested_by == editor and request.is_promotion
    assert request.approver_groups == ["reviewers"] and request.environment == "production"
    assert timedelta(hours=4, minutes=59) < request.deadline - timezone.now() <= timedelta(hours=5)
    assert Notification.objects.filter(user=reviewer, url=request.get_absolute_url()).exists()
    # Asking again does not open a second request.
    assert promote_model_version(version, production, editor) == ("pending", request)
    assert decide(request, reviewer, True, "fine") == "approved"
    assert primary(version, "production") is None  # the deploy is the reaction to the decision, by a worker
    settle()
    assert primary(version, "production") == version
    assert DeploymentEvent.objects.filter(deployment__environment=production).count() == 1
    assert "approved" in mail.outbox[-1].subject and mail.outbox[-1].to == [editor.email]


def test_the_promoter_cannot_approve_their_own_promotion(version, editor):
    reviewer_too = make_user("both", "reviewer")
    _, request = promote_model_version(version, Environment.objects.get(name="production"), reviewer_too)
    assert "four-eyes" in request.why_not(reviewer_too)


def test_a_promotion_rejected_deploys_nothing(version, editor, reviewer):
    _, request = promote_model_version(version, Environment.objects.get(name="production"), editor)
    assert decide(request, reviewer, False, "fairness too close to the limit") == "rejected"
    assert primary(version, "production") is None


def test_a_timed_out_promotion_to_a_protected_environment_deploys_nothing(version, editor):
    production = Environment.objects.get(name="production")
    production.on_timeout = "approve"  # set past the form (admin site, an old row): the rules still hold
    production.save()
    _, request = promote_model_version(version, production, editor)
    assert request.on_timeout == "reject"
    ApprovalRequest.objects.filter(pk=request.pk).update(deadline=timezone.now() - timedelta(seconds=1))
    assert expire_due() == 1
    request.refresh_from_db()
    assert request.status == "timed_out" and primary(version, "production") is None
    assert not DeploymentEvent.objects.filter(deployment__environment=production).exists()


def test_a_timed_out_promotion_to_an_open_environment_with_approve_deploys(version, editor):
    # An environment with groups but no minimum is open: its requests may approve themselves on timeout.
    qa = Environment.objects.create(name="qa")
    request = ApprovalRequest.objects.create(
        model_version=version,
        environment="qa",
        approver_groups=["reviewers"],
        min_approvals=1,
        requested_by=editor,
        on_timeout="approve",
        deadline=timezone.now() - timedelta(seconds=1),
    )
    assert expire_due() == 1
    settle()
    request.refresh_from_db()
    assert request.status == "approved" and primary(version, "qa") == version
    assert DeploymentEvent.objects.get(deployment__environment=qa).actor_name == editor.username


def test_promoting_the_version_already_serving_is_refused(version, editor):
    staging = Environment.objects.get(name="staging")  # the demo run deployed it there already
    with pytest.raises(PromotionRefused, match="already serves"):
        promote_model_version(version, staging, editor)


def test_approving_a_newer_run_supersedes_older_pending_requests(credit_pipeline, run_inline, editor, reviewer):
    older_run = run_inline(start_run(credit_pipeline, editor))
    newer_run = run_inline(start_run(credit_pipeline, editor, {"max_iter": 2000}))
    older = ApprovalRequest.objects.get(run=older_run)
    newer = ApprovalRequest.objects.get(run=newer_run)
    assert older.environment == newer.environment == "production"
    assert newer.model_version.version > older.model_version.version
    assert decide(newer, reviewer, True, "the newer one") == "approved"
    settle()
    older.refresh_from_db()
    assert older.status == "superseded" and older.decided_at is not None
    event = AuditEvent.objects.get(verb="approval.superseded")
    assert event.object_id == str(older.pk) and event.payload["by"] == newer.pk
    assert "superseded" in older.why_not(reviewer)
    run_inline(older_run)
    assert older_run.status == "rejected" and "superseded" in older_run.error


def test_approving_an_older_request_leaves_newer_ones_pending(credit_pipeline, run_inline, editor, reviewer):
    older = ApprovalRequest.objects.get(run=run_inline(start_run(credit_pipeline, editor)))
    newer = ApprovalRequest.objects.get(run=run_inline(start_run(credit_pipeline, editor)))
    decide(older, reviewer, True, "")
    settle()
    newer.refresh_from_db()
    assert newer.status == "pending"


def test_a_rollback_step_puts_the_previous_version_back(credit_pipeline, run_inline, editor):
    from pipelines_app.engine.deployments import deploy_version
    from pipelines_app.models import Pipeline

    first = run_inline(start_run(credit_pipeline, editor)).model_version
    second = run_inline(start_run(credit_pipeline, editor)).model_version
    production = Environment.objects.get(name="production")
    deploy_version(production, first, "system")
    deploy_version(production, second, "system")
    undo = Pipeline.objects.create_from_yaml(
        "version: 1\nname: undo\nmodel: credit-card-approval\nstages:\n  - name: back\n    steps:\n"
        "      - {name: back, type: rollback, environment: production}\n",
        editor,
    )
    run = run_inline(start_run(undo, editor))
    assert run.status == "succeeded", run.error
    assert primary(first, "production") == first
    assert DeploymentEvent.objects.filter(action="rollback", run=run).exists()
    again = run_inline(start_run(undo, editor))
    assert again.status == "failed" and "no earlier version" in again.error
