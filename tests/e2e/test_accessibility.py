"""Every main page, in Chromium, passes axe-core (vendored in static/vendor/axe-core/) without a serious or
critical violation, and logs no console error. A failure lists each violation: page, rule, impact, the elements."""

import pytest

from pipelines_app.engine.runs import start_run
from pipelines_app.models import Alert, AlertRule, ApprovalRequest, Notification
from tests.e2e.helpers import log_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

AXE = "/static/vendor/axe-core/axe.min.js"
# The rules of WCAG 2.0/2.1 A and AA, and axe's best practices (landmarks, headings, names).
RUN_AXE = """async () => {
  const result = await axe.run(document, {resultTypes: ["violations"]});
  return result.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.slice(0, 5).map(n => n.target.join(" ") + " :: " + (n.failureSummary || "").replace(/\\s+/g, " "))
  }));
}"""


@pytest.fixture
def demo_world(credit_pipeline, run_inline, editor, reviewer):
    """The demo pipeline run once: v1 serves in staging, the run waits for production's approval; an alert fires
    and the reviewer has a notification."""
    run = run_inline(start_run(credit_pipeline, editor))
    assert run.status == "waiting_approval"
    request = ApprovalRequest.objects.get(run=run)
    rule = AlertRule.objects.filter(deployment__environment__name="staging").first()
    Alert.objects.create(rule=rule, value=0.4, message="income PSI 0.4")
    Notification.objects.notify([reviewer], "Approval needed: Promote?", request.get_absolute_url())
    return run, request


def main_pages(run, request):
    version = run.model_version
    model = version.model.name
    return [
        "/",
        "/pipelines/",
        f"/pipelines/{run.pipeline.slug}/",
        f"/pipelines/{run.pipeline.slug}/edit/",
        "/runs/",
        f"/runs/{run.pk}/",
        "/approvals/",
        request.get_absolute_url(),
        "/models/",
        f"/models/{model}/",
        f"/models/{model}/v{version.version}/",
        "/deployments/",
        f"/deployments/staging/{model}/",
        "/deployments/environments/",
        "/monitoring/",
        f"/monitoring/{model}/staging/",
        f"/monitoring/{model}/staging/features/income/",
        "/monitoring/alerts/",
        "/audit/",
        "/datasets/",
        f"/datasets/{version.dataset_version.dataset.slug}/",
        "/accounts/notifications/",
    ]


def test_every_main_page_passes_axe_and_logs_no_console_error(browser, live_server, admin_user, reviewer, demo_world):
    run, request = demo_world
    page = log_in(browser, live_server.url, admin_user)
    console = []
    page.on("console", lambda m: console.append(f"{page.url}: {m.text}") if m.type == "error" else None)
    page.on("pageerror", lambda e: console.append(f"{page.url}: {e}"))
    found = []
    for path in main_pages(run, request):
        response = page.goto(live_server.url + path)
        assert response.status == 200, path
        page.wait_for_load_state("networkidle")
        page.add_script_tag(url=live_server.url + AXE)
        for v in page.evaluate(RUN_AXE):
            if v["impact"] in ("serious", "critical"):
                found.append(f"{path}: {v['id']} ({v['impact']}) {v['help']}\n    " + "\n    ".join(v["nodes"]))
    assert not found, "axe-core found serious or critical violations:\n" + "\n".join(found)
    assert not console, "console errors:\n" + "\n".join(console)
