"""In Chromium, two users: the editor who ran the demo pipeline cannot approve it (four-eyes); the reviewer
sees the badge, opens the request, reads the evidence side by side with its charts, approves; the run resumes and
the model goes live in production; the editor promotes the canary, then rolls back in one click."""

import pytest

from pipelines_app.engine.deployments import deploy_version
from pipelines_app.engine.runs import cancel, start_run
from pipelines_app.models import ApprovalRequest, Environment, PipelineRun
from tests.conftest import wait_for
from tests.e2e.helpers import log_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_a_reviewer_approves_on_the_evidence_and_the_requester_cannot(
    browser, live_server, editor, reviewer, credit_pipeline, celery_worker_process
):
    def waiting(run):
        wait_for(
            lambda: PipelineRun.objects.get(pk=run.pk).status in ("waiting_approval", "failed"), 120, 0.2, "approval"
        )
        return ApprovalRequest.objects.get(run=run)

    # v1 already serves in production, so the evidence has something to compare with.
    first = start_run(credit_pipeline, editor)
    waiting(first)
    cancel(first, editor)
    first.refresh_from_db()
    deploy_version(Environment.objects.get(name="production"), first.model_version, "system")

    run = start_run(credit_pipeline, editor, {"max_iter": 500})
    request = waiting(run)
    base = live_server.url

    own = log_in(browser, base, editor)
    own.goto(base + request.get_absolute_url())
    assert "four-eyes" in own.locator(".why-not").inner_text()
    assert own.get_by_role("button", name="Approve").count() == 0
    own.context.close()

    page = log_in(browser, base, reviewer)
    assert page.locator(".mainnav a", has_text="Approvals").locator(".badge").inner_text() == "1"
    page.locator(".mainnav a", has_text="Approvals").click()
    page.locator("section[aria-labelledby=mine-heading] a", has_text=f"#{request.pk}").click()
    page.wait_for_url(base + request.get_absolute_url())
    assert "Candidate v2 against v1, serving in production" in page.content()
    for chart in ("evidence-roc", "evidence-pr", "evidence-confusion-candidate", "evidence-confusion-current"):
        page.locator(f"#{chart} .main-svg").first.wait_for()
    # Both versions are drawn on the ROC chart.
    assert page.locator("#evidence-roc .legendtext").count() == 2
    page.fill("#id_comment", "Fairness within limits, AUC holds.")
    page.get_by_role("button", name="Approve").click()
    page.locator(".message-success").wait_for()
    assert "the request is approved" in page.locator(".message-success").inner_text()
    assert "Fairness within limits" in page.locator("table.decisions").inner_text()
    wait_for(lambda: PipelineRun.objects.get(pk=run.pk).status in ("succeeded", "failed"), 60, 0.2, "the run")
    assert PipelineRun.objects.get(pk=run.pk).status == "succeeded"
    page.goto(base + run.get_absolute_url())
    assert page.locator('[data-step="deploy-production"]').get_attribute("data-status") == "succeeded"
    page.context.close()

    # The approved version is live in production as a 10% canary; the editor promotes it, then rolls back.
    ops = log_in(browser, base, editor)
    ops.goto(base + "/deployments/")
    row = ops.locator("table.deployments tr", has_text="production")
    assert "v1" in row.inner_text() and "v2 (10%)" in row.inner_text()
    row.get_by_role("link", name="credit-card-approval").click()
    ops.locator("#deployment-timeline .main-svg").first.wait_for()
    ops.get_by_role("button", name="Promote canary v2 to primary").click()
    assert ops.locator("#primary-version").inner_text() == "v2"
    # Every web process serves it within about a second (its route is re-read off the request path).
    wait_for(lambda: served_version(live_server.url, editor) == "2", 5, 0.1, "v2 to serve")
    ops.get_by_role("button", name="Roll back to v1").click()
    assert "v1 serves again" in ops.locator(".message-success").inner_text()
    assert ops.locator("#primary-version").inner_text() == "v1"
    wait_for(lambda: served_version(live_server.url, editor) == "1", 5, 0.1, "v1 to serve again")
    ops.context.close()


def served_version(base, user):
    """What production answers with, asked as an MLflow client would."""
    import json
    import urllib.request

    from pipelines_app.models import ApiToken

    _, raw = ApiToken.objects.issue(user, predict_only=True)
    record = {
        "reports": 0,
        "age": 30.0,
        "income": 3.0,
        "owner": "no",
        "selfemp": "no",
        "dependents": 0,
        "months": 12,
        "majorcards": 1,
        "active": 5,
    }
    request = urllib.request.Request(
        base + "/serve/credit-card-approval/production/invocations",
        data=json.dumps({"dataframe_records": [record]}).encode(),
        headers={"Content-Type": "application/json", "Authorization": f"Token {raw}"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.headers["X-Model-Version"]
