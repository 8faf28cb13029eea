"""The README's five-minute tour, step by step, as written: from the seeded demo (``seed_demo``), in Chromium, as
the users it names, with the commands it names. A step of the tour that does not happen fails here.

The steps below quote the README; ``test_the_readme_still_says_what_this_test_does`` fails when the README's
tour changes without this test. Screenshots of the pages go to docs/img/ (the README's pictures) with
UPDATE_SCREENSHOTS=1, otherwise to a temporary folder.
"""

import io
import os
import re
import shlex
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command

from pipelines_app.models import Alert, AlertRule, ApprovalRequest, DeploymentEvent, PipelineRun
from pipelines_app.monitoring.alerts import evaluate
from tests.conftest import PASSWORD, wait_for
from tests.e2e.helpers import log_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
MODEL = "credit-card-approval"
# The tour's step 5, word for word.
TRAFFIC = (
    "manage.py simulate_traffic --model credit-card-approval --rows 3000 --drift income=1.5 --drift-after 2000 "
    "--feedback-rate 0.8 --over 3d"
)


def tour_text():
    text = README.read_text()
    return text[text.index("## A five-minute tour") : text.index("## What works today")]


def test_the_readme_still_says_what_this_test_does():
    tour = " ".join(tour_text().split())
    for promise in (
        "As `editor`, *Datasets* → `credit-card-applications`",
        "*Pipelines* → `credit-card-approval`",
        "*Pipelines → New pipeline → Open the wizard*",
        "*Run* on the pipeline's page",
        "As `reviewer`, *Approvals* shows what waits for you",
        f"`{TRAFFIC}`",
        "*Monitoring* → `credit-card-approval`",
        "(`7d` shows the three days); `income` is flagged",
        '"features drifting at alert level ≥ 1 over 24h" fires: *Alerts* lists it',
        "The new version waits for `reviewer` under *Approvals*",
        "Approved, v2 goes to production as a 10% canary beside v1",
        "*Deployments* → `credit-card-approval` in production) *Promote canary* makes v2 the primary, *Roll back* "
        "returns to v1 in one click",
        "`manage.py verify_audit`",
    ):
        assert promise in tour, promise


def nav(page, label):
    """Click an item of the main navigation, as the README's *Item* says."""
    page.locator("#mainnav").get_by_role("link", name=re.compile(rf"^{label}\b")).click()


def ended(statuses=("succeeded", "failed", "waiting_approval"), **which):
    def check():
        run = PipelineRun.objects.filter(**which).order_by("-pk").first()
        return run if run and run.status in statuses else None

    return check


def approve(browser, base, reviewer, run, shots=None):
    """Step 4 (and 7): the reviewer finds the request under Approvals and approves it on the evidence."""
    wait_for(lambda: ApprovalRequest.objects.filter(run=run, status="pending").exists(), 60, 0.2, "the request")
    page = log_in(browser, base, reviewer)
    nav(page, "Approvals")
    page.locator("main").get_by_role("link", name=re.compile(rf"^#\d+ .*{MODEL}")).first.click()
    for chart in ("evidence-roc", "evidence-confusion-candidate"):
        page.locator(f"#{chart} .main-svg").first.wait_for()
    if shots:
        shots(page, "approval")
    page.fill("#id_comment", "Metrics and fairness within limits.")
    page.get_by_role("button", name="Approve").click()
    page.locator(".message-success").wait_for()
    page.context.close()


def test_the_readme_tour_happens_as_written(browser, live_server, environments, celery_worker_process, tmp_path):
    base = live_server.url
    folder = ROOT / "docs" / "img" if os.environ.get("UPDATE_SCREENSHOTS") == "1" else tmp_path
    folder.mkdir(parents=True, exist_ok=True)

    def shots(page, name):
        page.screenshot(path=str(folder / f"{name}.png"))

    # What `make run` does before the tour: the seeded demo (and the environments a migration seeds, which a
    # transactional test's database has lost: the environments fixture), nothing else.
    call_command("seed_demo", password=PASSWORD, stdout=io.StringIO())
    editor, reviewer = User.objects.get(username="editor"), User.objects.get(username="reviewer")

    # 1. Data. As editor, Datasets → credit-card-applications: its columns are typed and profiled.
    ed = log_in(browser, base, editor)
    nav(ed, "Datasets")
    ed.locator("main").get_by_role("link", name="credit-card-applications").first.click()
    ed.wait_for_url(base + "/datasets/credit-card-applications/")
    profile = ed.locator("main").inner_text()
    assert "income" in profile and "numeric" in profile.lower()
    shots(ed, "dataset")

    # 2. Pipeline. Pipelines → credit-card-approval is the demo's pipeline file (it also starts on drift);
    # Pipelines → New pipeline → Open the wizard writes one like it for other data.
    nav(ed, "Pipelines")
    ed.locator("main").get_by_role("link", name=MODEL, exact=True).first.click()
    ed.wait_for_url(base + f"/pipelines/{MODEL}/")
    assert "drift" in ed.locator("main").inner_text().lower()
    nav(ed, "Pipelines")
    ed.get_by_role("button", name="New pipeline").click()
    ed.get_by_role("button", name="Open the wizard").click()
    ed.wait_for_url(base + "/pipelines/new/wizard/")
    ed.select_option("#id_target", "card")
    shots(ed, "wizard")

    # 3. Run. Run on the pipeline's page: the graph fills in live, deploys to staging, stops at the approval.
    ed.goto(base + f"/pipelines/{MODEL}/")
    ed.get_by_role("button", name="Run", exact=True).click()
    ed.get_by_role("button", name="Start run").click()
    ed.wait_for_url(f"{base}/runs/*/")
    first = wait_for(ended(pipeline__slug=MODEL), 180, 0.3, "the first run to reach its approval")
    assert first.status == "waiting_approval", first.error
    assert DeploymentEvent.objects.filter(deployment__environment__name="staging", version=first.model_version)
    ed.reload()
    ed.locator("#timeline .main-svg").first.wait_for()
    shots(ed, "run")

    # 4. Approve. As reviewer, Approvals shows what waits; Approve, and the run deploys it to production.
    approve(browser, base, reviewer, first, shots)
    first = wait_for(ended(("succeeded", "failed"), pk=first.pk), 90, 0.3, "the first run to finish")
    assert first.status == "succeeded", first.error

    # 5. Serve. The command of the tour, against this server.
    out = io.StringIO()
    call_command(*shlex.split(TRAFFIC)[1:], f"--url={base}", stdout=out)
    assert "3000 rows" in out.getvalue() and "0 refused" in out.getvalue(), out.getvalue()

    # 6. Watch. Monitoring → credit-card-approval: three days of charts; income is flagged.
    nav(ed, "Monitoring")
    ed.locator("main").get_by_role("link", name=MODEL).first.click()
    ed.wait_for_url(re.compile(rf".*/monitoring/{MODEL}/production/.*"))
    ed.select_option("#dashboard-window", "7d")
    ed.get_by_role("button", name="Show").click()
    ed.wait_for_url(re.compile(r".*window=7d.*"))
    income = ed.locator('#drift-rows tr[data-feature="income"]')
    income.wait_for()
    assert income.get_attribute("data-level") == "alert"
    ed.locator("#chart-volume .main-svg").first.wait_for()
    hours = ed.evaluate("document.getElementById('chart-volume').data[0].x.length")
    assert hours > 48, hours  # three days of history, hour by hour, not one dot
    shots(ed, "dashboard")

    # 7. React. Within half a minute the default one-feature rule fires (beat evaluates every 30 s: here, once),
    # Alerts lists it, it has started the pipeline again, and the new version waits for the reviewer.
    evaluate()
    rule = AlertRule.objects.get(deployment__environment__name="production", metric="feature_drift")
    alert = wait_for(lambda: Alert.objects.filter(rule=rule).exclude(runs_started=[]).first(), 30, 0.3, "a drift run")
    assert str(rule) == "features drifting at alert level ≥ 1 over 24h"
    nav(ed, "Alerts")
    listed = ed.locator("main").inner_text()
    assert "features drifting at alert level ≥ 1 over 24h" in listed and "firing" in listed.lower()
    shots(ed, "alerts")
    retrain = PipelineRun.objects.get(pk=alert.runs_started[0])
    assert retrain.trigger == "drift"
    retrain = wait_for(ended(pk=retrain.pk), 180, 0.3, "the retraining run to reach its approval")
    assert retrain.status == "waiting_approval", retrain.error
    approve(browser, base, reviewer, retrain)
    retrain = wait_for(ended(("succeeded", "failed"), pk=retrain.pk), 90, 0.3, "the retraining run to finish")
    assert retrain.status == "succeeded", retrain.error

    # 8. History. v2 serves as a 10% canary beside v1; on the deployment page Promote canary makes it the primary,
    # Roll back returns to v1 in one click, and the history shows what served when. Audit; verify_audit.
    nav(ed, "Deployments")
    ed.locator("main tr", has_text="production").get_by_role("link", name=MODEL).click()
    ed.wait_for_url(base + f"/deployments/production/{MODEL}/")
    assert ed.locator("#primary-version").inner_text() == "v1"
    assert "v2 (10% of traffic)" in ed.locator("main").inner_text()
    ed.get_by_role("button", name="Promote canary v2 to primary").click()
    ed.locator(".message-success").wait_for()
    assert ed.locator("#primary-version").inner_text() == "v2"
    ed.locator("#deployment-timeline .main-svg").first.wait_for()
    shots(ed, "deployment")
    ed.get_by_role("button", name="Roll back to v1").click()
    ed.locator(".message-success").wait_for()
    assert ed.locator("#primary-version").inner_text() == "v1"
    actions = list(
        DeploymentEvent.objects.filter(deployment__environment__name="production").values_list("action", flat=True)
    )
    assert "rollback" in actions, actions
    ed.context.close()
    audit = log_in(browser, base, reviewer)
    nav(audit, "Audit")
    listed = audit.locator("main").inner_text()
    assert "approval.approved" in listed and "run.drift_triggered" in listed
    shots(audit, "audit")
    audit.context.close()
    out = io.StringIO()
    call_command("verify_audit", stdout=out)
    assert "intact" in out.getvalue().lower() or "ok" in out.getvalue().lower(), out.getvalue()
