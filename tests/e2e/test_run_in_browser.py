"""In Chromium: run the demo pipeline from its page and watch the graph turn green up to the approval."""

import pytest

from pipelines_app.models import Pipeline
from tests.conftest import PASSWORD, TEMPLATE_DIR

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_run_the_demo_pipeline_and_watch_it(
    page, live_server, editor, environments, demo_dataset, celery_worker_process
):
    Pipeline.objects.create_from_yaml((TEMPLATE_DIR / "credit_card_approval.yaml").read_text(), editor)
    base = live_server.url
    page.goto(base + "/accounts/login/")
    page.fill("#id_username", editor.username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(base + "/")
    page.goto(base + "/pipelines/credit-card-approval/")
    page.get_by_role("button", name="Run", exact=True).click()
    page.fill("#id_max_iter", "500")
    page.get_by_role("button", name="Start run").click()
    page.wait_for_url(f"{base}/runs/*/")
    # The page polls: the approval step turns amber without a reload.
    page.locator(
        '[data-step="approve-production"][data-status="waiting_approval"], .facts .run-status.run-failed'
    ).first.wait_for(timeout=120_000)
    assert page.locator('[data-step="approve-production"]').get_attribute("data-status") == "waiting_approval", (
        page.locator("#live").inner_text()[:1500]
    )
    for step in ["load", "validate", "fit", "evaluate", "quality-gate", "deploy-staging"]:
        assert page.locator(f'[data-step="{step}"]').get_attribute("data-status") == "succeeded", step
    assert page.locator('[data-step="deploy-production"]').get_attribute("data-status") == "pending"
    assert "Waiting for approval" in page.locator("#live").inner_text()
    assert page.locator("#timeline .main-svg").count() >= 1
