"""The overview (``/``): an operator's home. What serves and how it does, what waits for me, recent runs (failed
first), open alerts and workers; empty states that start the seeded demo; a fixed number of queries."""

import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from pipelines_app.engine.deployments import deploy_version
from pipelines_app.engine.runs import start_run
from pipelines_app.models import (
    Alert,
    AlertRule,
    ApprovalRequest,
    Deployment,
    Environment,
    PipelineRun,
    PredictionLog,
)
from pipelines_app.monitoring.rollups import fold
from tests.conftest import deploy_demo_model

pytestmark = pytest.mark.usefixtures("environments")

RECORD = {"reports": 0.0, "age": 37.7, "income": 4.52, "owner": "yes", "selfemp": "no", "dependents": 3.0,
          "months": 54.0, "majorcards": 1.0, "active": 12.0}  # fmt: skip


def page_of(client):
    response = client.get("/")
    assert response.status_code == 200
    return response.content.decode()


def serve(deployment, requests=5, hours_ago=0, errors=1):
    """``requests`` scored requests ``hours_ago`` hours back and ``errors`` refused ones, folded into rollups."""
    at = timezone.now() - timedelta(hours=hours_ago)
    prefix = f"{deployment.pk}-{hours_ago}"
    PredictionLog.objects.bulk_create(
        [
            PredictionLog(
                deployment=deployment, model_version=deployment.primary_version, request_id=f"{prefix}-{i}",
                inputs={name: [value] for name, value in RECORD.items()}, predictions=["yes"], scores=[0.8],
                latency_ms=3.0, created_at=at,
            )
            for i in range(requests)
        ]
        + [
            PredictionLog(
                deployment=deployment, model_version=deployment.primary_version, request_id=f"{prefix}-bad{i}",
                status_code=400, created_at=at,
            )
            for i in range(errors)
        ]
    )  # fmt: skip
    while fold():
        pass


@pytest.fixture
def staging(demo_dataset):
    deploy_demo_model(demo_dataset, "credit-card-approval", "staging")
    return Deployment.objects.select_related("primary_version").get(environment__name="staging")


def test_an_empty_overview_offers_an_editor_the_demo_pipeline(client_for, editor, credit_pipeline):
    text = page_of(client_for(editor))
    assert "No model serves yet." in text and "No runs yet." in text
    assert "Nothing waits for your decision." in text and "No open alerts." in text
    assert text.count(f'action="/pipelines/{credit_pipeline.slug}/run/"') == 1  # once, not under both headings
    assert "Run the demo pipeline" in text
    assert "upload a CSV" not in text


def test_a_viewer_gets_no_demo_button(client_for, viewer, credit_pipeline):
    text = page_of(client_for(viewer))
    assert "No model serves yet." in text
    assert "Run the demo pipeline" not in text and "/run/" not in text
    assert "An editor starts the demo pipeline from here" in text


def test_without_the_seeded_pipeline_an_editor_is_told_how_to_seed_it(client_for, editor):
    text = page_of(client_for(editor))
    assert "Run the demo pipeline" not in text
    assert "manage.py seed_demo" in text


def test_the_demo_button_starts_a_run_of_the_demo_pipeline(client_for, editor, credit_pipeline):
    client = client_for(editor)
    action = re.search(r'<form method="post" action="([^"]+)" class="demo-run">', page_of(client)).group(1)
    response = client.post(action)
    run = PipelineRun.objects.get()
    assert response.status_code == 302 and response["Location"] == run.get_absolute_url()
    assert run.pipeline == credit_pipeline and run.triggered_by == editor


def test_each_deployment_shows_its_version_health_sparkline_and_links(client_for, viewer, staging):
    serve(staging, requests=5, hours_ago=3)
    serve(staging, requests=2, hours_ago=0, errors=0)
    text = page_of(client_for(viewer))
    card = text[text.index('aria-label="credit-card-approval in staging"') :]
    card = card[: card.index("</article>")]
    assert "<strong>credit-card-approval</strong> in staging" in card and "v1" in card
    assert re.search(r"<dt>Requests</dt><dd>8</dd>", card)
    assert re.search(r"<dt>Errors</dt><dd>1 <small[^>]*>\(12%\)", card)
    assert "<dt>Latency p95</dt>" in card and " ms</dd>" in card
    assert 'class="level level-' in card
    assert "Requests per hour, last 24 hours: 8 in all, at most 6 in an hour" in card
    assert 'href="/monitoring/credit-card-approval/staging/"' in card
    assert 'href="/deployments/staging/credit-card-approval/"' in card
    assert "No model serves yet." not in text


def test_the_sparkline_counts_requests_per_hour_oldest_first(client_for, viewer, staging):
    serve(staging, requests=4, hours_ago=5, errors=0)
    serve(staging, requests=1, hours_ago=0, errors=0)
    serve(staging, requests=7, hours_ago=30, errors=0)  # older than a day: not drawn
    row = client_for(viewer).get("/").context["deployments"][0]
    hourly = row["hourly_requests"]
    assert len(hourly) == 24 and hourly[-1] == 1 and hourly[-6] == 4 and sum(hourly) == 5


def test_what_waits_for_me_lists_requests_i_may_decide_with_their_deadline(client_for, reviewer, editor):
    deadline = timezone.now() + timedelta(hours=20)
    request = ApprovalRequest.objects.create(
        approver_groups=["reviewers"], requested_by=editor, environment="production", message="Go?", deadline=deadline
    )
    ApprovalRequest.objects.create(approver_groups=["admins"], environment="production", message="Not for reviewers")
    text = page_of(client_for(reviewer))
    assert f'href="/approvals/{request.pk}/"' in text and f"Request #{request.pk} to production" in text
    assert f"{timezone.localtime(deadline):%Y-%m-%d %H:%M}</time>" in text and "decide by <time" in text
    assert "19\xa0hours" in text and '<span class="badge">1</span>' in text
    # The one who asked may not decide it (four-eyes).
    assert "Nothing waits for your decision." in page_of(client_for(editor))


def test_recent_runs_show_their_status_failed_first(client_for, viewer, editor, credit_pipeline):
    runs = [start_run(credit_pipeline, editor) for _ in range(3)]
    for run, status in zip(runs, ["succeeded", "failed", "running"], strict=True):
        PipelineRun.objects.filter(pk=run.pk).update(status=status)
    text = page_of(client_for(viewer))
    table = text[text.index('class="striped recent-runs"') :]
    order = [int(pk) for pk in re.findall(r'<a href="/runs/(\d+)/">#', table)]
    assert order == [runs[1].pk, runs[2].pk, runs[0].pk]
    assert 'class="run-status run-failed"' in table and "No runs yet." not in text


def test_open_alerts_are_listed_firing_first_and_counted_in_the_navigation(client_for, viewer, staging):
    rule = AlertRule.objects.filter(deployment=staging).first()
    acknowledged = Alert.objects.create(rule=rule, value=0.2, message="errors", state=Alert.State.ACKNOWLEDGED)
    Alert.objects.create(rule=rule, value=0.3, message="errors", state=Alert.State.RESOLVED)
    firing = Alert.objects.create(rule=rule, value=0.5, message="errors")
    client = client_for(viewer)
    text = page_of(client)
    alerts = text[text.index('id="alerts-heading"') : text.index('id="deployments-heading"')]
    assert [state for state in re.findall(r'class="level level-\w+">(\w+)</span>', alerts)] == [
        "firing",
        "acknowledged",
    ]
    assert "credit-card-approval in staging" in alerts and "No open alerts." not in alerts
    assert firing.pk and acknowledged.pk
    nav = client.get("/runs/").content.decode()
    assert re.search(r'<a href="/monitoring/alerts/">Alerts <span class="badge" title="1 firing">1</span></a>', nav)


def test_alerts_are_in_the_main_navigation_and_marked_current_on_their_page(client_for, viewer):
    text = client_for(viewer).get("/monitoring/alerts/").content.decode()
    nav = text[text.index('class="mainnav"') : text.index("</nav>")]
    assert '<a href="/monitoring/alerts/" aria-current="page">Alerts</a>' in nav
    assert '<a href="/monitoring/">Monitoring</a>' in nav
    assert 'aria-controls="mainnav"' in text and "js/navigation" in text


def queries(client):
    with CaptureQueriesContext(connection) as captured:
        response = client.get("/")
    assert response.status_code == 200
    return len(captured), response


def test_the_overview_reads_as_many_queries_for_five_deployments_as_for_one(client_for, reviewer, staging):
    client = client_for(reviewer)
    serve(staging)
    Alert.objects.create(rule=AlertRule.objects.filter(deployment=staging).first(), value=0.5, message="errors")
    one, _ = queries(client)
    for n in range(4):
        deployment = deploy_version(Environment.objects.create(name=f"region-{n}"), staging.primary_version, "system")
        serve(deployment, hours_ago=n)
        Alert.objects.create(rule=AlertRule.objects.filter(deployment=deployment).first(), value=0.5, message="e")
    five, page = queries(client)
    assert five == one
    text = page.content.decode()
    assert text.count('">Deployment</a>') == 5 and text.count('class="sparkline"') == 5
