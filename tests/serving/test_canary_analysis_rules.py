"""Canary analysis, in this process: the file's `analysis:` key, judging by the rules (not enough traffic, hold,
at most once a minute, a canary changed by hand), the deployment page's form and the API, with bad input."""

from datetime import timedelta

import numpy as np
import pytest
from django.utils import timezone

from pipelines_app.engine.deployments import abort_canary, deploy_version
from pipelines_app.models import AuditEvent, CanaryAnalysis, Deployment, Environment, Event, PredictionLog
from pipelines_app.monitoring import canary
from pipelines_app.spec import SpecInvalid, parse_pipeline
from pipelines_app.spec.rules import CanaryCheck, PolicyRule
from pipelines_app.spec.steps import CanaryAnalysis as AnalysisSpec
from tests.conftest import api_client, deploy_demo_model
from tests.serving.test_canary_analysis import second_version

pytestmark = pytest.mark.django_db
MODEL = "credit-canary"
TEMPLATE = open("pipelines_app/pipeline_templates/credit_card_approval.yaml").read()
CANARY_STEP = "{name: deploy-production, type: deploy, environment: production, strategy: canary, canary_percent: 10}"


def with_analysis(text):
    return TEMPLATE.replace(CANARY_STEP, CANARY_STEP[:-1] + f", analysis: {text}}}")


# --- the file ---------------------------------------------------------------------------------------------------


def test_the_design_example_parses_with_its_multiplied_latency_check():
    spec = parse_pipeline(
        with_analysis(
            "{min_requests: 200, max_duration: 30m, on_pass: promote, on_fail: rollback, checks: ["
            '"error_rate <= primary.error_rate + 0.01", "latency_p95_ms <= primary.latency_p95_ms * 1.5", '
            '"score_psi <= 0.2", "positive_rate >= primary.positive_rate - 0.1"]}'
        )
    )
    step = spec.stages[-1].steps[0]
    assert step.analysis.max_duration_seconds == 1800
    latency = step.analysis.checks[1]
    assert latency.threshold({"latency_p95_ms": 10.0}) == 15.0
    assert latency.text == "latency_p95_ms <= primary.latency_p95_ms * 1.5"
    # Stored and read back as the parsed form.
    assert CanaryCheck.model_validate(latency.model_dump()) == latency


def test_an_analysis_with_no_checks_given_takes_the_designs_defaults():
    step = parse_pipeline(with_analysis("{min_requests: 50}")).stages[-1].steps[0]
    assert [c.text for c in step.analysis.checks][:3] == [
        "error_rate <= primary.error_rate + 0.01",
        "latency_p95_ms <= primary.latency_p95_ms * 1.5",
        "score_psi <= 0.2",
    ]


@pytest.mark.parametrize(
    "analysis, expected",
    [
        ('{checks: ["latency <= 5"]}', "'latency' is not a metric a rule here can use; did you mean 'latency_p95_ms'?"),
        ('{checks: ["error_rate <= production.error_rate"]}', "only primary.<metric> can be compared with here"),
        ("{max_duration: 30d}", "max_duration '30d' is longer than the most an analysis may run, 7d"),
        ("{on_fail: promote}", "unknown on_fail 'promote' in the analysis of step 'deploy-production'"),
        ("{checks: []}", "'checks' in the analysis of step 'deploy-production' must not be empty"),
        ("{min_requests: 0}", "'min_requests' in the analysis of step 'deploy-production' must be at least 1"),
        ("{judge: always}", "unknown key 'judge' in the analysis of step 'deploy-production'"),
    ],
)
def test_a_bad_analysis_is_refused_with_its_line_and_a_sentence(analysis, expected):
    with pytest.raises(SpecInvalid) as caught:
        parse_pipeline(with_analysis(analysis))
    assert expected in str(caught.value)
    assert "line 60" in str(caught.value)


def test_an_analysis_on_a_deploy_that_is_not_a_canary_is_an_error():
    text = TEMPLATE.replace(
        "{name: deploy-staging, type: deploy, environment: staging}",
        "{name: deploy-staging, type: deploy, environment: staging, analysis: {min_requests: 5}}",
    )
    with pytest.raises(SpecInvalid, match="analysis judges a canary; strategy replace has none"):
        parse_pipeline(text)


def test_a_policy_gate_rule_may_scale_the_production_value_but_not_name_the_primary():
    rule = PolicyRule.model_validate("roc_auc >= production.roc_auc * 0.98 - 0.01")
    assert rule.threshold({"roc_auc": 0.9}) == pytest.approx(0.9 * 0.98 - 0.01)
    with pytest.raises(ValueError, match="only production.<metric> can be compared with"):
        PolicyRule.model_validate("roc_auc >= primary.roc_auc")


# --- judging ----------------------------------------------------------------------------------------------------


def test_score_psi_is_zero_for_the_same_scores_and_large_for_one_value():
    rng = np.random.default_rng(0)
    scores = rng.uniform(0, 1, 2000)
    assert canary.score_psi(scores, scores) == 0.0
    assert canary.score_psi(scores, np.full(500, 0.78)) > 2
    assert canary.score_psi(scores, np.array([])) is None


@pytest.fixture
def canary_deployment(demo_dataset, environments, editor):
    v1 = deploy_demo_model(demo_dataset, MODEL, "staging")
    v2 = second_version(v1)
    return deploy_version(Environment.objects.get(name="staging"), v2, editor, "canary", 20), v1, v2


def start(deployment, editor, **analysis):
    from pipelines_app.engine.deployments import analyse_canary

    return analyse_canary(deployment, AnalysisSpec.model_validate({"min_requests": 3, **analysis}), editor)


def log_requests(deployment, version, role, n, prediction="yes", score=0.8, status=200, latency=2.0):
    PredictionLog.objects.bulk_create(
        PredictionLog(request_id=f"{role}-{i}-{status}", deployment=deployment, model_version=version, role=role,
                      predictions=[prediction] if status == 200 else [], scores=[score] if status == 200 else None,
                      status_code=status, latency_ms=latency)
        for i in range(n)
    )  # fmt: skip


def test_not_enough_traffic_by_max_duration_fails_the_canary(canary_deployment, editor):
    deployment, v1, v2 = canary_deployment
    analysis = start(deployment, editor, max_duration="10m")
    log_requests(deployment, v1, "primary", 5)
    log_requests(deployment, v2, "canary", 1)
    assert canary.judge(analysis.pk) == "running"
    later = timezone.now() + timedelta(minutes=11)
    assert canary.judge(analysis.pk, later) == "failed"
    analysis.refresh_from_db()
    assert "not enough traffic" in analysis.reason and "the canary had 1 and the primary 5" in analysis.reason
    deployment.refresh_from_db()
    assert deployment.canary_version is None and deployment.primary_version == v1
    assert Event.objects.filter(kind=Event.Kind.CANARY_JUDGED, payload__analysis=analysis.pk).exists()


def test_on_fail_hold_leaves_the_canary_for_a_person(canary_deployment, editor):
    deployment, v1, v2 = canary_deployment
    analysis = start(deployment, editor, on_fail="hold", checks=["error_rate <= primary.error_rate + 0.01"])
    log_requests(deployment, v1, "primary", 5)
    log_requests(deployment, v2, "canary", 3)
    log_requests(deployment, v2, "canary", 2, status=400)  # the canary refuses what the primary takes
    assert canary.judge(analysis.pk) == "held"
    analysis.refresh_from_db()
    assert analysis.verdict == "fail" and analysis.measured["canary"]["error_rate"] == pytest.approx(0.4)
    deployment.refresh_from_db()
    assert deployment.canary_version == v2  # still serving, for a person to decide


def test_a_canary_is_judged_at_most_once_a_minute(canary_deployment, editor):
    deployment, v1, v2 = canary_deployment
    analysis = start(deployment, editor)
    now = timezone.now()
    assert canary.judge(analysis.pk, now) == "running"
    log_requests(deployment, v1, "primary", 5)
    log_requests(deployment, v2, "canary", 5)
    assert canary.judge(analysis.pk, now + timedelta(seconds=20)) == "not due"
    assert canary.judge(analysis.pk, now + timedelta(seconds=61)) == "passed"


def test_a_canary_aborted_by_hand_ends_its_analysis(canary_deployment, editor):
    deployment, _, _ = canary_deployment
    analysis = start(deployment, editor)
    abort_canary(deployment, editor)
    analysis.refresh_from_db()
    assert analysis.status == "cancelled" and "abort canary by eddie-editor" in analysis.reason
    assert canary.judge(analysis.pk) == "not claimed"


def test_a_check_that_cannot_be_measured_is_skipped_not_failed(canary_deployment, editor):
    deployment, v1, v2 = canary_deployment
    analysis = start(deployment, editor, checks=["accuracy >= primary.accuracy - 0.05", "error_rate <= 0.5"])
    log_requests(deployment, v1, "primary", 3)
    log_requests(deployment, v2, "canary", 3)
    assert canary.judge(analysis.pk) == "passed"
    analysis.refresh_from_db()
    accuracy = analysis.results[0]
    assert accuracy["passed"] is None and "accuracy could not be measured" in accuracy["reason"]


# --- the page and the API ---------------------------------------------------------------------------------------


def test_an_editor_starts_an_analysis_from_the_deployment_page(canary_deployment, editor, client_for):
    deployment, _, _ = canary_deployment
    url = f"/deployments/staging/{MODEL}/"
    page = client_for(editor).get(url)
    assert b"Judge canary v2 automatically" in page.content
    response = client_for(editor).post(
        url + "analysis/",
        {"min_requests": "50", "max_duration": "1h", "checks": "score_psi <= 0.2\nerror_rate <= 0.05",
         "on_pass": "hold", "on_fail": "rollback"},
    )  # fmt: skip
    assert response.status_code == 302
    analysis = CanaryAnalysis.objects.get(deployment=deployment)
    assert (analysis.min_requests, analysis.max_duration_s, analysis.on_pass) == (50, 3600, "hold")
    assert AuditEvent.objects.filter(verb="deployment.analysis_started", actor_name="eddie-editor").exists()
    page = client_for(editor).get(url).content.decode()
    assert "Canary analysis" in page and "canary 0, primary 0 so far" in page
    assert "<code>score_psi &lt;= 0.2</code>" in page and 'id="canary-analysis-data"' in page


@pytest.mark.parametrize(
    "form, expected",
    [
        ({"checks": "latency_p95 <= 5"}, "did you mean &#x27;latency_p95_ms&#x27;?"),
        ({"max_duration": "soon"}, "&#x27;soon&#x27; is not a duration"),
        ({"min_requests": "0"}, "greater than or equal to 1"),
        ({"checks": "\n".join(["error_rate <= 0.1"] * 21)}, "At most 20 checks; this has 21."),
        ({"checks": "<script>alert(1)</script> <= 1"}, "&lt;script&gt;alert(1)&lt;/script&gt; &lt;= 1"),
    ],
)
def test_a_bad_analysis_form_answers_400_and_starts_nothing(canary_deployment, editor, client_for, form, expected):
    data = {"min_requests": "50", "max_duration": "1h", "checks": "score_psi <= 0.2", "on_pass": "promote",
            "on_fail": "rollback", **form}  # fmt: skip
    response = client_for(editor).post(f"/deployments/staging/{MODEL}/analysis/", data)
    assert response.status_code == 400
    assert expected in response.content.decode()
    assert "<script>alert(1)</script>" not in response.content.decode()
    assert not CanaryAnalysis.objects.exists()


def test_only_editors_start_an_analysis_and_only_on_a_canary(canary_deployment, editor, viewer, client_for):
    deployment, _, _ = canary_deployment
    data = {"min_requests": "5", "max_duration": "1h", "checks": "score_psi <= 0.2", "on_pass": "promote",
            "on_fail": "rollback"}  # fmt: skip
    assert client_for(viewer).post(f"/deployments/staging/{MODEL}/analysis/", data).status_code == 403
    api = api_client(viewer).post(f"/api/v1/deployments/staging/{MODEL}/analysis/", {}, format="json")
    assert api.status_code == 403
    abort_canary(deployment, editor)
    response = client_for(editor).post(f"/deployments/staging/{MODEL}/analysis/", data)
    assert response.status_code == 409 and b"has no canary to analyse" in response.content
    assert not CanaryAnalysis.objects.exists()


def test_the_api_starts_an_analysis_and_shows_it_with_the_deployment(canary_deployment, editor, client):
    url = f"/api/v1/deployments/staging/{MODEL}/"
    assert client.post(url + "analysis/", {}, content_type="application/json").status_code in (401, 403)
    bad = api_client(editor).post(url + "analysis/", {"min_requests": -1, "checks": ["nope"]}, format="json")
    assert bad.status_code == 400 and len(bad.json()["analysis"]) == 2
    assert api_client(editor).post(url + "analysis/", [1], format="json").status_code == 400
    started = api_client(editor).post(url + "analysis/", {"min_requests": 10}, format="json")
    assert started.status_code == 201 and started.json()["status"] == "running"
    again = api_client(editor).post(url + "analysis/", {"min_requests": 10}, format="json")
    assert again.status_code == 409 and "already running" in again.json()["detail"]
    body = api_client(editor).get(url).json()
    assert body["analysis"]["status"] == "running" and body["analysis"]["requests"] == {"canary": 0, "primary": 0}
    assert len(body["analysis"]["checks"]) == 5 and body["analysis"]["decided_at"] is None
    assert body["history"][0]["event"] == "canary_started"


def test_a_new_canary_ends_the_analysis_of_the_one_it_replaces(canary_deployment, editor):
    deployment, v1, v2 = canary_deployment
    analysis = start(deployment, editor)
    deploy_version(Environment.objects.get(name="staging"), v2, editor, "canary", 30,
                   analysis=AnalysisSpec.model_validate({"min_requests": 7}))  # fmt: skip
    analysis.refresh_from_db()
    assert analysis.status == "cancelled"
    assert Deployment.objects.get(pk=deployment.pk).analyses.running().get().min_requests == 7
