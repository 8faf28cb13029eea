"""The environments page and the approval page say what a timeout does as the timeout sweep will apply it."""

from datetime import timedelta

from django.utils import timezone

from pipelines_app.engine.approvals import expire_due
from pipelines_app.models import ApprovalRequest, Environment


def test_the_environments_page_says_which_timeout_applies(client_for, viewer, environments):
    text = client_for(viewer).get("/deployments/environments/").content.decode()
    assert (
        "72 h for promotions and deploy steps; an approval step&#x27;s own timeout otherwise; then reject "
        "(a protected environment never approves on timeout)"
    ) in text
    assert "72 h, then reject" not in text


def test_an_open_environment_says_what_its_own_setting_does(client_for, viewer, environments):
    Environment.objects.filter(name="staging").update(on_timeout="approve", approval_timeout_hours=5)
    text = client_for(viewer).get("/deployments/environments/").content.decode()
    assert "5 h for promotions and deploy steps; an approval step&#x27;s own timeout otherwise; then approve" in text


def test_the_approval_page_shows_the_deadline_and_what_the_sweep_will_do(client_for, reviewer, editor, environments):
    # Asked (say by an old file) to approve on timeout, into protected production: the sweep rejects.
    request = ApprovalRequest.objects.create(
        approver_groups=["reviewers"],
        requested_by=editor,
        environment="production",
        message="Go?",
        deadline=timezone.now() + timedelta(hours=24),
        on_timeout="approve",
    )
    text = client_for(reviewer).get(request.get_absolute_url()).content.decode()
    assert "left; if nobody decides by then, it is rejected (timed out): the request asked to approve, but " in text
    assert "production is protected and never approves on timeout" in text
    ApprovalRequest.objects.filter(pk=request.pk).update(deadline=timezone.now() - timedelta(minutes=1))
    expire_due()
    request.refresh_from_db()
    assert request.status == "timed_out"
    text = client_for(reviewer).get(request.get_absolute_url()).content.decode()
    assert "Nobody decided before the deadline; the system rejected it (timed out)." in text


def test_an_open_request_says_it_will_be_approved(client_for, reviewer, editor, environments):
    request = ApprovalRequest.objects.create(
        approver_groups=["reviewers"],
        requested_by=editor,
        environment="staging",
        message="Go?",
        deadline=timezone.now() + timedelta(hours=2),
        on_timeout="approve",
    )
    text = client_for(reviewer).get(request.get_absolute_url()).content.decode()
    assert "if nobody decides by then, it is approved)" in text
