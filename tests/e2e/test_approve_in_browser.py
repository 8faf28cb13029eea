"""In Chromium, two users: the editor who ran the demo pipeline cannot approve it (four-eyes); the reviewer
sees the badge, opens the request, reads the evidence side by side with its charts, approves; the run resumes."""

import pytest

from pipelines_app.engine.deployments import deploy_version
from pipelines_app.engine.runs import cancel, start_run
from pipelines_app.models import ApprovalRequest, Environment, PipelineRun
from tests.conftest import PASSWORD, wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def log_in(browser, base, user):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(20000)
    page.goto(base + "/accounts/login/")
    page.fill("#id_username", user.username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(base + "/")
    return page


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
