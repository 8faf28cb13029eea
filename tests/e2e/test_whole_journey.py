"""The whole story in Chromium, as its users live it: an editor uploads the credit card applications, builds the
pipeline with the wizard and runs it; a reviewer approves on the evidence; the model serves; traffic drifts; the
dashboard flags it; the editor's alert rule starts a retraining run on the newer data; the reviewer approves the
new version; the deployment history shows both; the audit log lists every step and its hash chain holds.

Screenshots of the main pages are taken on the way, into a temporary folder (the README's pictures come from
tests/e2e/test_readme_tour.py, which walks the README's own tour).
"""

import io
from pathlib import Path

import pandas as pd
import pytest
from django.core.management import call_command

from pipelines_app.models import ApprovalRequest, AuditEvent, DeploymentEvent, PipelineRun
from pipelines_app.monitoring.alerts import evaluate
from pipelines_app.monitoring.rollups import fold
from pipelines_app.serving.prediction_log import drain
from tests.conftest import DEMO_CSV, wait_for
from tests.e2e.helpers import log_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
ROOT = Path(__file__).resolve().parents[2]
MODEL = "card-approvals"


def ended(run_or_filter, statuses=("succeeded", "failed", "waiting_approval")):
    def check():
        run = PipelineRun.objects.filter(**run_or_filter).order_by("-pk").first()
        return run if run and run.status in statuses else None

    return check


def approve_in_browser(browser, base, reviewer, run, shots, name):
    request = wait_for(lambda: ApprovalRequest.objects.filter(run=run, status="pending").first(), 60, 0.2, "request")
    page = log_in(browser, base, reviewer)
    page.goto(base + request.get_absolute_url())
    for chart in ("evidence-roc", "evidence-confusion-candidate"):
        page.locator(f"#{chart} .main-svg").first.wait_for()
    shots(page, name)
    page.fill("#id_comment", "Metrics and fairness within limits.")
    page.get_by_role("button", name="Approve").click()
    page.locator(".message-success").wait_for()
    page.context.close()


def test_the_whole_journey(browser, live_server, editor, reviewer, environments, celery_worker_process, tmp_path):
    base = live_server.url
    folder = tmp_path

    def shots(page, name):
        page.screenshot(path=str(folder / f"{name}.png"))

    # The editor uploads the applications and builds the pipeline with the wizard.
    ed = log_in(browser, base, editor)
    ed.goto(base + "/datasets/")
    ed.fill("#id_name", "card-applications")
    ed.set_input_files("#id_file", str(DEMO_CSV))
    ed.get_by_role("button", name="Upload").click()
    ed.wait_for_url(base + "/datasets/card-applications/")
    shots(ed, "dataset")
    ed.goto(base + "/pipelines/new/wizard/")
    ed.fill("#id_name", MODEL)
    ed.select_option("#id_target", "card")
    ed.select_option("#id_positive_label", "yes")
    ed.select_option("#id_estimator", "logistic_regression")
    ed.check("input[name=drop][value=share]")
    ed.check("input[name=drop][value=expenditure]")
    ed.check("input[name=sensitive_features][value=owner]")
    assert ed.locator("#id_retrain_on_drift").is_checked()
    shots(ed, "wizard")
    ed.get_by_role("button", name="Save pipeline").click()
    ed.wait_for_url(base + f"/pipelines/{MODEL}/")
    ed.get_by_role("button", name="Run", exact=True).click()
    ed.get_by_role("button", name="Start run").click()
    ed.wait_for_url(f"{base}/runs/*/")
    first = wait_for(ended({"pipeline__slug": MODEL}), 120, 0.3, "the first run to reach its approval")
    assert first.status == "waiting_approval", first.error
    ed.reload()
    ed.locator("#timeline .main-svg").first.wait_for()
    shots(ed, "run")

    # The reviewer approves on the evidence; the run deploys to production.
    approve_in_browser(browser, base, reviewer, first, shots, "approval")
    first = wait_for(ended({"pk": first.pk}, ("succeeded", "failed")), 60, 0.3, "the first run to finish")
    assert first.status == "succeeded", first.error

    # Applications arrive with higher incomes; the model scores them, some outcomes come back.
    call_command("simulate_traffic", f"--model={MODEL}", "--environment=production", "--rows=400",
                 "--drift=income=1.6", "--drift-after=100", "--feedback-rate=0.5", f"--url={base}")  # fmt: skip
    drain()
    while fold():
        pass
    ed.goto(base + f"/monitoring/{MODEL}/production/")
    income = ed.locator('#drift-rows tr[data-feature="income"]')
    income.wait_for()
    assert income.get_attribute("data-level") in ("warn", "alert")
    ed.locator("#chart-volume .main-svg").first.wait_for()
    shots(ed, "dashboard")

    # The editor adds an alert on the income's PSI that retrains; newer data has been uploaded meanwhile.
    ed.locator("summary", has_text="Add a rule").click()
    ed.select_option("#id_metric", "feature_psi")
    ed.fill("#id_feature", "income")
    ed.fill("#id_threshold", "0.25")
    ed.fill("#id_window", "24h")  # the traffic spreads over three days: a day holds enough of it to judge
    ed.fill("#id_cooldown_minutes", "0")
    ed.check("#id_trigger_retraining")
    ed.get_by_role("button", name="Add rule").click()
    ed.locator(".message-success").wait_for()
    recent = pd.read_csv(DEMO_CSV)
    recent["income"] *= 1.6
    buffer = io.StringIO()
    recent.to_csv(buffer, index=False)
    (tmp_path / "recent.csv").write_text(buffer.getvalue())
    ed.goto(base + "/datasets/")
    ed.fill("#id_name", "card-applications")
    ed.set_input_files("#id_file", str(tmp_path / "recent.csv"))
    ed.get_by_role("button", name="Upload").click()
    ed.wait_for_url(base + "/datasets/card-applications/")

    fired, _ = evaluate()  # what beat does every 30 s
    assert fired >= 1
    retrain = wait_for(
        ended({"pipeline__slug": MODEL, "trigger": "drift"}), 120, 0.3, "the retraining run to reach its approval"
    )
    assert retrain.status == "waiting_approval", retrain.error
    ed.goto(base + "/monitoring/alerts/")
    assert "income PSI" in ed.locator("main").inner_text()
    shots(ed, "alerts")

    # The reviewer approves the retrained version; production now serves v2, the history shows both.
    approve_in_browser(browser, base, reviewer, retrain, shots, "approval-retrained")
    retrain = wait_for(ended({"pk": retrain.pk}, ("succeeded", "failed")), 60, 0.3, "the retraining run to finish")
    assert retrain.status == "succeeded", retrain.error
    versions = DeploymentEvent.objects.filter(deployment__environment__name="production", deployment__model__name=MODEL)
    assert {e.version.version for e in versions} == {1, 2}
    ed.goto(base + f"/deployments/production/{MODEL}/")
    assert ed.locator("#primary-version").inner_text() == "v2"
    history = ed.locator("main").inner_text()
    assert "v1" in history and "v2" in history
    ed.locator("#deployment-timeline .main-svg").first.wait_for()
    shots(ed, "deployment")
    ed.context.close()

    # The audit log shows every step of it, and its chain of hashes holds.
    audit = log_in(browser, base, reviewer)  # the audit log is for reviewers and admins
    audit.goto(base + "/audit/")
    verbs = set(AuditEvent.objects.values_list("verb", flat=True))
    journey = {"dataset.uploaded", "pipeline.created", "run.started", "approval.approved", "alert_rule.created",
               "alert.fired", "run.drift_triggered"}  # fmt: skip
    assert journey <= verbs, journey - verbs
    listed = audit.locator("main").inner_text()
    assert "approval.approved" in listed and "run.drift_triggered" in listed
    shots(audit, "audit")
    audit.context.close()
    out = io.StringIO()
    call_command("verify_audit", stdout=out)
    assert "intact" in out.getvalue().lower() or "ok" in out.getvalue().lower(), out.getvalue()
