"""GET /metrics: Prometheus' text format, counting real scoring traffic and the site's state, for scrapers only."""

import json
import re

import pytest
import redis
from prometheus_client import CollectorRegistry, Histogram
from prometheus_client.parser import text_string_to_metric_families

from pipelines_app.models import ApiToken, ApprovalRequest, Delivery, Deployment, PipelineRun, StepRun
from pipelines_app.serving import metrics, models_cache, prediction_log
from tests.conftest import ROOT, make_user, wait_for
from tests.serving.conftest import RECORD

URL = "/serve/credit-card-approval/staging/invocations"
STAGING = {"model": "credit-card-approval", "environment": "staging"}


def scrape(client, **headers):
    """Every sample of /metrics as {(name, ((label, value), ...)): value}, read with Prometheus' own parser."""
    response = client.get("/metrics", **headers)
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/plain")
    samples = {}
    for family in text_string_to_metric_families(response.content.decode()):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def value(samples, name, **labels):
    return samples.get((name, tuple(sorted(labels.items()))), 0)


def score(client, token, records, **extra):
    body = json.dumps({"dataframe_records": records})
    return client.post(URL, data=body, content_type="application/json", HTTP_AUTHORIZATION=f"Token {token}", **extra)


@pytest.fixture
def token(editor):
    return ApiToken.objects.issue(editor)[1]


@pytest.fixture
def primary(deployed):
    return {**STAGING, "version": str(deployed.version), "arm": "primary"}


def test_scored_requests_are_counted_once_the_flusher_has_run(client, deployed, token, primary, settings):
    settings.PREDICTION_LOG_BACKGROUND = True  # the flusher thread counts, as under gunicorn
    before = scrape(client)
    assert score(client, token, [RECORD]).status_code == 200
    assert score(client, token, [RECORD, RECORD]).status_code == 200
    assert score(client, token, [RECORD]).status_code == 200

    def counted():
        now = scrape(client)
        done = value(now, "mlops_serving_requests_total", **primary) - value(
            before, "mlops_serving_requests_total", **primary
        )
        return now if done == 3 else None

    after = wait_for(counted, 10, 0.05, "the flusher to count three requests")

    def grew(name, **labels):
        return value(after, name, **{**primary, **labels}) - value(before, name, **{**primary, **labels})

    assert grew("mlops_serving_rows_total") == 4
    assert grew("mlops_serving_errors_total") == 0
    assert grew("mlops_serving_latency_seconds_count") == 3
    assert grew("mlops_serving_latency_seconds_bucket", le="+Inf") == 3
    assert 0 < grew("mlops_serving_latency_seconds_sum") < 3  # seconds, not milliseconds
    # Buckets are cumulative: each holds at most what the next holds.
    buckets = sorted(
        (float(dict(labels)["le"]), v)
        for (name, labels), v in after.items()
        if name == "mlops_serving_latency_seconds_bucket"
        and {key: val for key, val in labels if key != "le"} == primary
    )
    assert len(buckets) == len(metrics.LATENCY_BUCKETS) + 1
    assert [v for _, v in buckets] == sorted(v for _, v in buckets)


def test_refusals_are_counted_by_reason_and_as_errors(client, deployed, token, primary, settings):
    before = scrape(client)
    assert score(client, token, [{**RECORD, "age": "old"}]).status_code == 400
    assert score(client, token, [{"age": 30}]).status_code == 400
    settings.SERVING_MAX_BYTES = 50
    assert score(client, token, [RECORD] * 5).status_code == 413
    after = scrape(client)

    def grew(name, **labels):
        return value(after, name, **labels) - value(before, name, **labels)

    assert grew("mlops_serving_refusals_total", **STAGING, reason="bad_request") == 2
    assert grew("mlops_serving_refusals_total", **STAGING, reason="too_large") == 1
    assert grew("mlops_serving_errors_total", **primary) == 3
    assert grew("mlops_serving_requests_total", **primary) == 3
    assert grew("mlops_serving_latency_seconds_count", **primary) == 0  # latency is of scored requests


def test_requests_are_counted_with_logging_switched_off(client, deployed, token, primary, settings, redis_url):
    """Nothing is logged, yet the flusher still counts: the request leaves it a tuple."""
    settings.SERVING_LOG_PREDICTIONS = False
    route = models_cache.route("credit-card-approval", "staging")
    loaded = models_cache.load(route.primary)
    before = scrape(client)
    prediction_log.log_answer("r", 2, route, loaded, "primary", {}, ["yes", "no"], [0.9, 0.1], 1.5)
    prediction_log.count_refusal(route, None, "primary", 401, 0.0)
    after = scrape(client)
    assert redis.Redis.from_url(redis_url).llen(prediction_log.BUFFER_KEY) == 0
    assert (
        value(after, "mlops_serving_rows_total", **primary) - value(before, "mlops_serving_rows_total", **primary) == 2
    )
    refused = {**STAGING, "reason": "unauthorized"}
    assert (
        value(after, "mlops_serving_refusals_total", **refused)
        - value(before, "mlops_serving_refusals_total", **refused)
        == 1
    )


def test_a_shadow_counts_the_requests_mirrored_to_it(client, deployed, token):
    # The version serving as its own shadow: one request, one answer, one mirrored request for the drain.
    Deployment.objects.filter(environment__name="staging").update(shadow_version=deployed)
    models_cache.forget()
    shadow = {**STAGING, "version": str(deployed.version), "arm": "shadow"}
    before = scrape(client)
    assert score(client, token, [RECORD]).status_code == 200
    after = scrape(client)
    assert (
        value(after, "mlops_serving_requests_total", **shadow) - value(before, "mlops_serving_requests_total", **shadow)
        == 1
    )


def test_observing_a_batch_gives_what_observing_each_value_gives():
    values = [0.0001, 0.0005, 0.0007, 0.003, 0.003, 0.2, 7.0, 42.0]
    one_by_one = Histogram("one", "", registry=CollectorRegistry(), buckets=metrics.LATENCY_BUCKETS)
    batched = Histogram("one", "", registry=CollectorRegistry(), buckets=metrics.LATENCY_BUCKETS)
    for v in values:
        one_by_one.observe(v)
    per_bucket = [0] * (len(metrics.LATENCY_BUCKETS) + 1)
    for v in values:
        per_bucket[metrics._UPPER_BOUNDS.index(next(b for b in metrics._UPPER_BOUNDS if v <= b))] += 1
    metrics._observe_many(batched, sum(values), per_bucket)

    def samples(histogram):
        return [(s.name, s.labels, s.value) for s in histogram.collect()[0].samples if not s.name.endswith("_created")]

    assert samples(batched) == samples(one_by_one)


def test_runs_steps_approvals_and_deliveries_by_status(client, deployed, db):
    # The deployed fixture ran the demo pipeline: a run, its steps, and an approval for production.
    Delivery.objects.create(channel="email", recipient="a@example.com", purpose="admin", status="failed")
    samples = scrape(client)
    for status in ("queued", "running", "waiting_approval", "succeeded", "failed", "cancelled"):
        assert value(samples, "mlops_runs", status=status) == PipelineRun.objects.filter(status=status).count()
        assert value(samples, "mlops_steps", status=status) == StepRun.objects.filter(status=status).count()
    assert sum(v for (name, _), v in samples.items() if name == "mlops_runs") == PipelineRun.objects.count() > 0
    assert value(samples, "mlops_approval_requests_pending") == ApprovalRequest.objects.filter(status="pending").count()
    assert value(samples, "mlops_notification_deliveries", status="failed") == 1
    for source in ("database", "redis", "broker"):
        assert value(samples, "mlops_metrics_source_up", source=source) == 1


def test_queue_depths_are_read_from_the_broker(client, db, redis_url):
    broker = redis.Redis.from_url(redis_url)
    before = scrape(client)
    broker.rpush("training", "a", "b")
    broker.rpush("training\x06\x163", "c")  # a message of priority 3
    broker.rpush("notifications", "d")
    try:
        after = scrape(client)
    finally:
        broker.lrem("training", 0, "a")
        broker.lrem("training", 0, "b")
        broker.lrem("training\x06\x163", 0, "c")
        broker.lrem("notifications", 0, "d")
    for queue, added in (("training", 3), ("notifications", 1), ("default", 0), ("monitoring", 0)):
        assert value(after, "mlops_queue_depth", queue=queue) - value(before, "mlops_queue_depth", queue=queue) == added


def test_the_log_backlog_drains_and_drops_and_losses_are_counted(client, deployed, token, redis_url):
    buffer = redis.Redis.from_url(redis_url)
    buffer.delete(prediction_log.BUFFER_KEY, prediction_log.BACKLOG_KEY, prediction_log.DROPPED_KEY)
    assert score(client, token, [RECORD]).status_code == 200
    assert score(client, token, [RECORD]).status_code == 200
    samples = scrape(client)
    assert value(samples, "mlops_prediction_log_backlog") == 2
    assert value(samples, "mlops_prediction_log_backlog_flushes") == 2  # flushed in the request, here

    gone = {"request_id": "gone", "rows": 1, "deployment_id": 999_999, "created_at": 0}
    buffer.rpush(prediction_log.BUFFER_KEY, prediction_log.encode(gone) + b"\x1dnot json")
    Deployment.objects.filter(environment__name="staging").update(logs_lost=3)
    assert prediction_log.drain() == 2
    samples = scrape(client)
    assert value(samples, "mlops_prediction_log_backlog") == 0
    assert value(samples, "mlops_prediction_logs_dropped_total", reason="unreadable") == 1
    assert value(samples, "mlops_prediction_logs_dropped_total", reason="deployment_gone") == 1
    assert value(samples, "mlops_prediction_logs_lost_total", **STAGING) == 3


def test_a_source_that_does_not_answer_is_reported_down_and_the_rest_still_shown(client, deployed, settings):
    settings.REDIS_URL = settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"  # nothing listens there
    samples = scrape(client)
    assert value(samples, "mlops_metrics_source_up", source="redis") == 0
    assert value(samples, "mlops_metrics_source_up", source="broker") == 0
    assert value(samples, "mlops_metrics_source_up", source="database") == 1
    assert ("mlops_runs", (("status", "succeeded"),)) in samples


# Who may scrape.

ELSEWHERE = {"REMOTE_ADDR": "203.0.113.9"}


def test_anonymous_callers_from_elsewhere_are_refused(client, db):
    response = client.get("/metrics", **ELSEWHERE)
    assert response.status_code == 401 and response["WWW-Authenticate"] == "Token"
    assert b"mlops_" not in response.content


def test_a_forwarded_for_header_does_not_make_a_caller_local(client, db, settings):
    # No proxy trusted: the header is the caller's own writing.
    assert client.get("/metrics", HTTP_X_FORWARDED_FOR="127.0.0.1", **ELSEWHERE).status_code == 401
    # From this machine, but forwarded by a proxy nobody listed: the visitor behind it is unknown.
    assert client.get("/metrics", HTTP_X_FORWARDED_FOR="203.0.113.9").status_code == 401
    assert client.get("/metrics", HTTP_X_REAL_IP="203.0.113.9").status_code == 401
    # Behind a trusted proxy the client it names is the one checked.
    settings.TRUSTED_PROXIES = ["127.0.0.1"]
    assert client.get("/metrics", HTTP_X_FORWARDED_FOR="127.0.0.1, 203.0.113.9").status_code == 401
    settings.METRICS_ALLOWED_ADDRESSES = ["10.0.0.0/8"]
    assert client.get("/metrics", HTTP_X_FORWARDED_FOR="10.1.2.3").status_code == 200
    assert client.get("/metrics", REMOTE_ADDR="10.1.2.3").status_code == 200
    assert client.get("/metrics", REMOTE_ADDR="::ffff:10.1.2.3").status_code == 200
    assert client.get("/metrics").status_code == 401  # 127.0.0.1 is no longer listed


def test_an_empty_allow_list_lets_no_address_in(client, db, settings):
    settings.METRICS_ALLOWED_ADDRESSES = []
    assert client.get("/metrics").status_code == 401


@pytest.mark.parametrize(
    "header",
    ["Token", "Token a b", "Basic dXNlcjpwYXNz", "Token mlops_not-a-real-token", "Bearer \u00e9\u00e9"],
)
def test_bad_tokens_are_401_even_from_an_allowed_address(client, db, header):
    response = client.get("/metrics", HTTP_AUTHORIZATION=header)
    assert response.status_code == 401
    assert b"mlops_" not in response.content


def test_a_viewers_token_scrapes_from_anywhere(client, viewer):
    _, raw = ApiToken.objects.issue(viewer)
    assert scrape(client, HTTP_AUTHORIZATION=f"Bearer {raw}", **ELSEWHERE)
    assert client.get("/metrics", HTTP_AUTHORIZATION=f"Token {raw}", **ELSEWHERE).status_code == 200


def test_predict_only_and_roleless_tokens_are_403(client, viewer):
    _, predict_only = ApiToken.objects.issue(viewer, predict_only=True)
    _, roleless = ApiToken.objects.issue(make_user("no-role", None))
    for raw in (predict_only, roleless):
        response = client.get("/metrics", HTTP_AUTHORIZATION=f"Token {raw}", **ELSEWHERE)
        assert response.status_code == 403 and b"mlops_" not in response.content


def test_a_revoked_token_stops_at_once(client, viewer):
    token, raw = ApiToken.objects.issue(viewer)
    token.revoke()
    assert client.get("/metrics", HTTP_AUTHORIZATION=f"Token {raw}", **ELSEWHERE).status_code == 401


def test_a_logged_in_viewer_may_read_it(client_for, viewer):
    assert client_for(viewer).get("/metrics", **ELSEWHERE).status_code == 200


def test_it_rejects_post(client, db):
    assert client.post("/metrics").status_code == 405


def test_the_dashboard_and_the_docs_name_only_metrics_that_exist(client, deployed, token):
    assert score(client, token, [RECORD]).status_code == 200
    assert score(client, token, [{"age": 30}]).status_code == 400
    Deployment.objects.filter(environment__name="staging").update(logs_lost=1)
    exposed = {name for name, _ in scrape(client)}
    assert not any(name.endswith("_created") for name in exposed)
    dashboard = json.loads((ROOT / "docs" / "grafana-dashboard.json").read_text())
    queries = [t["expr"] for p in dashboard["panels"] for t in p.get("targets", [])]
    assert len(queries) >= 10
    documented = (ROOT / "docs" / "prometheus.md").read_text()
    for name in set(re.findall(r"\bmlops_(?!site)[a-z_]+", " ".join(queries) + documented)):
        assert name in exposed or f"{name}_count" in exposed, name
    for name in exposed:
        family = re.sub(r"_(bucket|count|sum)$", "", name)
        assert family in documented or name in documented, name


def test_refusals_before_the_rows_are_read_are_counted_by_the_view(client, deployed, primary, settings):
    """No token, a bad token: refused by the view before any log entry exists, still counted for /metrics."""
    before = scrape(client)
    body = json.dumps({"dataframe_records": [RECORD]})
    assert client.post(URL, data=body, content_type="application/json").status_code == 401
    assert score(client, "not-a-token", [RECORD]).status_code == 403
    after = scrape(client)

    def grew(reason):
        labels = {**STAGING, "reason": reason}
        return value(after, "mlops_serving_refusals_total", **labels) - value(
            before, "mlops_serving_refusals_total", **labels
        )

    assert grew("unauthorized") == 1 and grew("forbidden") == 1
