"""An editor asks for a canary to be judged automatically from its deployment page, traffic arrives, the system
judges it; the page then shows the verdict, each check with both arms' values, and the chart of them, in Chromium."""

import json

import pandas as pd
import pytest

from pipelines_app.engine.deployments import deploy_version
from pipelines_app.models import ApiToken, CanaryAnalysis, Environment
from pipelines_app.monitoring import canary
from pipelines_app.serving.prediction_log import drain
from tests.conftest import DEMO_CSV, deploy_demo_model
from tests.e2e.helpers import log_in, screenshot
from tests.serving.test_canary_analysis import second_version

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
MODEL = "credit-canary"


def test_an_editor_has_a_one_class_canary_judged_and_rolled_back(
    demo_dataset, environments, live_server, browser, editor, client, redis_url
):
    import redis

    from pipelines_app.serving.prediction_log import BUFFER_KEY

    redis.Redis.from_url(redis_url).delete(BUFFER_KEY)
    v1 = deploy_demo_model(demo_dataset, MODEL, "staging")
    v2 = second_version(v1, "sklearn.dummy.DummyClassifier")
    deploy_version(Environment.objects.get(name="staging"), v2, editor, "canary", 50)

    page = log_in(browser, live_server.url, editor)
    page.goto(f"{live_server.url}/deployments/staging/{MODEL}/")
    page.get_by_text("Judge canary v2 automatically").click()
    page.get_by_label("Min requests").fill("0")
    page.get_by_role("button", name="Start the analysis").click()
    assert page.get_by_text("greater than or equal to 1").is_visible()  # refused, nothing started
    assert not CanaryAnalysis.objects.exists()
    page.get_by_label("Min requests").fill("20")
    page.get_by_role("button", name="Start the analysis").click()
    page.locator(".message-success").wait_for()
    assert page.locator("#analysis-summary").inner_text().startswith("Canary v2 against primary v1")

    token = ApiToken.objects.issue(editor)[1]
    frame = pd.read_csv(DEMO_CSV).drop(columns=["card", "share", "expenditure"])
    for i in range(80):
        rows = frame.sample(20, random_state=i)
        body = {"dataframe_split": json.loads(rows.to_json(orient="split", index=False))}
        response = client.post(f"/serve/{MODEL}/staging/invocations", json.dumps(body), "application/json",
                               HTTP_AUTHORIZATION=f"Token {token}")  # fmt: skip
        assert response.status_code == 200
    drain()
    assert canary.judge(CanaryAnalysis.objects.get().pk) == "failed"

    page.reload()
    assert "Verdict: fail" in page.locator("#analysis-summary").inner_text()
    outcomes = page.locator("table.analysis-checks tbody tr td:last-child").all_inner_texts()
    assert "fails" in outcomes and len(outcomes) == 5
    # One small chart per checked metric, each with the primary's bar and the canary's.
    page.wait_for_selector("#canary-analysis-chart .main-svg")
    assert page.locator("#canary-analysis-chart g.barlayer path").count() >= 8
    assert "canary" in page.locator("#canary-analysis-chart").inner_text()
    history = page.locator("table.deployment-history tbody tr").first.inner_text()
    assert "abort_canary" in history and "system" in history
    screenshot(page, "canary-analysis")
    page.context.close()
