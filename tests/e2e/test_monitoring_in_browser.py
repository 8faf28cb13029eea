"""simulate_traffic sends real HTTP requests with drift and feedback; the dashboard, in Chromium, shows the charts
with data and flags the drifted feature."""

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db.models import F

from pipelines_app.models import Feedback, PredictionLog, Rollup, RollupCursor
from pipelines_app.monitoring.rollups import fold
from pipelines_app.serving.prediction_log import drain
from tests.conftest import PASSWORD, deploy_demo_model

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def serving_model(demo_dataset, environments):
    return deploy_demo_model(demo_dataset, "credit-card-approval", "staging")


def test_drifted_traffic_shows_on_the_dashboard(serving_model, live_server, page, viewer, redis_url):
    import redis

    from pipelines_app.serving.prediction_log import BUFFER_KEY

    redis.Redis.from_url(redis_url).delete(BUFFER_KEY)  # what earlier tests left names rows that are gone
    call_command(
        "simulate_traffic",
        "--model=credit-card-approval",
        "--environment=staging",
        "--rows=400",
        "--drift=income=1.6",
        "--drift-after=100",
        "--feedback-rate=0.5",
        "--over=0",  # all of it now, over HTTP: the chart below counts every request in the default window
        f"--url={live_server.url}",
    )
    drain()
    # The first half of the traffic came two hours earlier, so that every time series has history to draw.
    ids = list(PredictionLog.objects.order_by("id").values_list("id", flat=True))
    earlier = PredictionLog.objects.filter(id__in=ids[: len(ids) // 2])
    earlier.update(created_at=F("created_at") - timedelta(hours=2))
    Rollup.objects.all().delete()  # folded already as they came: folded again, from their new times
    RollupCursor.objects.all().delete()
    while fold():
        pass
    assert PredictionLog.objects.filter(status_code=200).count() == 400
    assert 150 < Feedback.objects.count() < 250

    page.goto(live_server.url + "/accounts/login/")
    page.fill("#id_username", viewer.username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.goto(live_server.url + "/monitoring/credit-card-approval/staging/")
    page.locator('#drift-rows tr[data-feature="income"]').wait_for()
    assert page.locator('#drift-rows tr[data-feature="income"]').get_attribute("data-level") in ("warn", "alert")
    for chart in ("chart-volume", "chart-latency", "chart-positive", "chart-scores", "chart-drift"):
        page.locator(f"#{chart} .main-svg").first.wait_for()
    points = page.evaluate("document.getElementById('chart-volume').data[0].y.reduce((a, b) => a + b, 0)")
    assert points == 400
    assert page.evaluate("document.getElementById('feature-income').data.length") == 2
    assert "labelled rows" in page.locator("#performance").inner_text().lower()
    # Predictions and labels against training, and the selection rate by each sensitive feature over time.
    assert page.locator("#outcome-rows tr").count() == 2
    assert "Labels (feedback)" in page.locator("#outcome-rows").inner_text()
    page.locator("#fairness-owner .main-svg").first.wait_for()
    script = "document.getElementById('fairness-owner').data.map(t => t.y.filter(v => v !== null).length)"
    traces = page.evaluate(script)
    assert traces and all(count > 0 for count in traces)
    # Realised accuracy from the labels that came back, drawn with the estimate and the label coverage.
    page.locator("#chart-performance .main-svg").first.wait_for()
    names = page.evaluate("document.getElementById('chart-performance').data.map(t => t.name)")
    assert {"accuracy", "accuracy, estimated", "label coverage"} <= set(names)
    accuracy = page.evaluate("document.getElementById('chart-performance').data[0].y.filter(v => v !== null)")
    assert accuracy and all(0 <= value <= 1 for value in accuracy)
