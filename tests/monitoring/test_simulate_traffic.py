"""simulate_traffic spreads its requests over the past days with a daily and weekly rhythm: the older ones are
scored and logged inside Django with their own dates, the recent ones go over HTTP; the dashboards then show a
history the first time they are opened. Callers of the endpoint cannot date their requests."""

import json
from datetime import timedelta

import pytest
import redis
from django.core.management import call_command
from django.utils import timezone

from pipelines_app.management.commands.simulate_traffic import rate_at, request_times
from pipelines_app.models import Feedback, PredictionLog
from pipelines_app.serving.prediction_log import BUFFER_KEY
from tests.conftest import deploy_demo_model

pytestmark = pytest.mark.django_db(transaction=True)
MODEL = "credit-card-approval"


@pytest.fixture
def serving(demo_dataset, environments, redis_url):
    redis.Redis.from_url(redis_url).delete(BUFFER_KEY)  # what earlier tests left names rows that are gone
    return deploy_demo_model(demo_dataset, MODEL, "staging")


def simulate(live_server, *options):
    call_command("simulate_traffic", f"--model={MODEL}", "--environment=staging", f"--url={live_server.url}", *options)


def test_requests_spread_over_the_period_and_the_recent_ones_go_over_http(serving, live_server, client_for, viewer):
    started = timezone.now()
    simulate(live_server, "--rows=900", "--over=7d", "--live=2h", "--drift=income=1.6", "--drift-after=600",
             "--feedback-rate=0.5")  # fmt: skip
    logs = PredictionLog.objects.filter(status_code=200)
    assert logs.count() == 900
    oldest = logs.order_by("created_at").first().created_at
    assert timedelta(days=6) < started - oldest <= timedelta(days=7)
    # The last two hours' requests came over HTTP and were dated by the server as they arrived.
    recent = logs.filter(created_at__gte=started)
    assert 0 < recent.count() < 60
    assert not logs.filter(created_at__gte=started - timedelta(hours=2), created_at__lt=started).exists()
    assert 350 < Feedback.objects.count() < 550

    data = client_for(viewer).get(f"/monitoring/{MODEL}/staging/data/?window=7d").json()
    assert data["granularity"] == "hour" and data["requests"] == 900
    hours = [point for point in data["series"] if point["requests"]]
    assert len(hours) > 100  # a week of hours with traffic, not one dot
    assert all(0 <= point["positive_rate"] <= 1 for point in hours if point["positive_rate"] is not None)
    # The drift came late: a week ago income was as in training, the last day it is not.
    week = data["drift"]["income"]["level"]
    day = client_for(viewer).get(f"/monitoring/{MODEL}/staging/data/?window=24h").json()["drift"]["income"]
    assert day["level"] == "alert" and week in ("warn", "alert")
    page = client_for(viewer).get(f"/monitoring/{MODEL}/staging/features/income/?window=7d")
    over_time = json.loads(page.content.decode().split('id="feature-data" type="application/json">')[1].split("<")[0])
    assert len(over_time["over_time"]) > 50  # the feature's PSI hour by hour over the week


def test_the_rhythm_is_busier_by_day_than_by_night_and_on_weekdays():
    import random

    now = timezone.now()
    times = request_times(20000, timedelta(days=14), now, random.Random(1))
    assert times == sorted(times) and now - timedelta(days=14) <= times[0] and times[-1] <= now
    local = [timezone.localtime(t) for t in times]
    afternoons = sum(1 for t in local if 12 <= t.hour < 15)
    nights = sum(1 for t in local if 2 <= t.hour < 5)
    assert afternoons > 4 * nights
    assert rate_at(now.replace(year=2026, month=11, day=28, hour=13)) < rate_at(
        now.replace(year=2026, month=11, day=30, hour=13)
    )  # a Saturday, a Monday


def test_over_0_sends_everything_now(serving, live_server):
    started = timezone.now()
    simulate(live_server, "--rows=50", "--over=0")
    assert PredictionLog.objects.filter(created_at__gte=started).count() == 50


def test_bad_periods_are_refused(serving, live_server):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="--over 'a week'"):
        simulate(live_server, "--over=a week")
    with pytest.raises(CommandError, match="90 days"):
        simulate(live_server, "--over=100d")


def test_a_caller_cannot_date_a_request(serving, client, editor):
    from pipelines_app.models import ApiToken
    from pipelines_app.serving.prediction_log import drain

    token = ApiToken.objects.issue(editor)[1]
    record = {"reports": 0, "age": 30.0, "income": 3.0, "owner": "no", "selfemp": "no", "dependents": 0,
              "months": 12, "majorcards": 1, "active": 2}  # fmt: skip
    before = timezone.now()
    response = client.post(
        f"/serve/{MODEL}/staging/invocations",
        json.dumps({"dataframe_records": [record], "created_at": "2020-01-01T00:00:00Z"}),
        "application/json",
        HTTP_AUTHORIZATION=f"Token {token}",
        HTTP_DATE="Wed, 01 Jan 2020 00:00:00 GMT",
    )
    assert response.status_code == 200
    drain()
    assert PredictionLog.objects.get().created_at >= before
