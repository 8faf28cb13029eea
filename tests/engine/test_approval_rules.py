"""Approval decisions: groups, four-eyes, one decision each, comments on rejection, N of M, timeouts, races."""

import threading
from datetime import timedelta

import pytest
from django.contrib.auth.models import Group
from django.db import connection
from django.utils import timezone

from pipelines_app.engine.approvals import decide, expire_due
from pipelines_app.engine.reactions import react
from pipelines_app.models import (
    ApprovalDecision,
    ApprovalRequest,
    AuditEvent,
    Deployment,
    DeploymentEvent,
    Event,
    ModelVersion,
    RegisteredModel,
)
from pipelines_app.models.approvals import DecisionRefused
from tests.conftest import api_client, make_user


@pytest.fixture
def request_(editor):
    return ApprovalRequest.objects.create(
        approver_groups=["reviewers"],
        min_approvals=1,
        requested_by=editor,
        message="Promote?",
        deadline=timezone.now() + timedelta(hours=1),
    )


def refused(req, user, approve=True, comment="ok"):
    with pytest.raises(DecisionRefused) as info:
        decide(req, user, approve, comment)
    return info.value


def test_a_reviewer_approves(request_, reviewer):
    assert decide(request_, reviewer, True, "looks good") == "approved"
    assert AuditEvent.objects.filter(verb="approval.approved", actor_name=reviewer.username).exists()


def test_the_requester_cannot_approve_even_as_a_reviewer(request_, editor):
    editor.groups.add(Group.objects.get_or_create(name="reviewers")[0])
    error = refused(request_, editor)
    assert error.status == 403 and "four-eyes" in str(error)


def test_only_the_approver_groups_decide(request_, viewer):
    error = refused(request_, viewer)
    assert error.status == 403 and "reviewers" in str(error)


def test_a_rejection_needs_a_comment(request_, reviewer):
    error = refused(request_, reviewer, approve=False, comment="  ")
    assert error.status == 400
    assert decide(request_, reviewer, False, "leaks the target") == "rejected"


def test_decided_requests_answer_409(request_, reviewer, db):
    decide(request_, reviewer, True, "")
    second = make_user("rob-reviewer", "reviewer")
    assert refused(request_, second).status == 409


def test_two_of_three_need_two_distinct_reviewers(request_, reviewer):
    request_.min_approvals = 2
    request_.save()
    assert decide(request_, reviewer, True, "") == "pending"
    assert refused(request_, reviewer).status == 409  # one decision per reviewer
    assert decide(request_, make_user("rob-reviewer", "reviewer"), True, "") == "approved"


@pytest.mark.parametrize(("on_timeout", "outcome"), [("reject", "timed_out"), ("approve", "approved")])
def test_timeouts_apply_on_timeout(request_, on_timeout, outcome):
    request_.on_timeout = on_timeout
    request_.deadline = timezone.now() - timedelta(seconds=1)
    request_.save()
    assert expire_due() == 1
    request_.refresh_from_db()
    assert request_.status == outcome
    assert AuditEvent.objects.filter(verb="approval.timed_out", actor_name="system").exists()


def test_api_decisions_speak_http(request_, editor, reviewer, viewer):
    path = f"/api/v1/approvals/{request_.pk}/"
    assert api_client(editor).post(path + "approve/", {"comment": "me"}, format="json").status_code == 403
    assert api_client(reviewer).post(path + "reject/", {}, format="json").status_code == 400
    assert api_client(viewer).post(path + "approve/", {}, format="json").status_code == 403
    ok = api_client(reviewer).post(path + "approve/", {"comment": "fine"}, format="json")
    assert ok.status_code == 200 and ok.json()["status"] == "approved"
    assert (
        api_client(make_user("rob-reviewer", "reviewer")).post(path + "approve/", {}, format="json").status_code == 409
    )
    listed = api_client(reviewer).get("/api/v1/approvals/?status=approved").json()["results"]
    assert listed[0]["id"] == request_.pk and listed[0]["decisions"][0]["user"] == reviewer.username


@pytest.mark.django_db(transaction=True)
def test_two_reviewers_at_the_same_instant_give_one_outcome_and_one_deployment(
    editor, reviewer, environments, redis_url
):
    if connection.vendor != "postgresql":
        pytest.skip("row locks are what is tested: run with DATABASE_URL pointing at PostgreSQL (CI does)")
    other = make_user("rob-reviewer", "reviewer")
    # A promotion: its approval deploys, so a double approval would deploy twice.
    model = RegisteredModel.objects.create(name="raced")
    version = ModelVersion.objects.create(model=model, version=1, artifact="models/raced/v1.skops", sha256="0" * 64)
    req = ApprovalRequest.objects.create(
        approver_groups=["reviewers"],
        min_approvals=1,
        requested_by=editor,
        model_version=version,
        environment="production",
    )
    results = []

    def at_once(work, arguments):
        barrier = threading.Barrier(len(arguments))

        def run(argument):
            barrier.wait()
            try:
                results.append(work(argument))
            except DecisionRefused as exc:
                results.append(exc.status)
            finally:
                connection.close()

        threads = [threading.Thread(target=run, args=(argument,)) for argument in arguments]
        for t in threads:
            t.start()
        for t in threads:
            t.join()

    at_once(lambda user: decide(ApprovalRequest.objects.get(pk=req.pk), user, True, "go"), [reviewer, other])
    assert sorted(map(str, results)) == ["409", "approved"]
    assert ApprovalDecision.objects.filter(request=req).count() == 1
    # One event; two workers that receive its message at the same instant react once between them.
    [event] = Event.objects.filter(approval=req)
    results.clear()
    at_once(react, [event.pk, event.pk])
    assert sorted(results) == ["done", "not claimed"]
    assert DeploymentEvent.objects.filter(deployment__environment__name="production").count() == 1
    assert Deployment.objects.get(environment__name="production").primary_version == version


def test_the_badge_counts_what_waits_for_this_reviewer(request_, client_for, reviewer, editor, viewer):
    page = client_for(reviewer).get("/runs/").content.decode()
    assert 'title="1 waiting for you"' in page
    assert "waiting for you" not in client_for(editor).get("/runs/").content.decode()  # their own request
    assert "waiting for you" not in client_for(viewer).get("/runs/").content.decode()  # not an approver
    decide(request_, reviewer, True, "")
    assert "waiting for you" not in client_for(reviewer).get("/runs/").content.decode()
