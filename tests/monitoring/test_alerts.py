"""Alert rules: defaults, fire, stay open, resolve, cool down, acknowledge; drift alerts start retraining."""

import pytest

from pipelines_app.models import Alert, AlertRule, AuditEvent, Notification, PipelineRun
from pipelines_app.monitoring.alerts import evaluate
from tests.conftest import api_client, settle


@pytest.fixture
def psi_rule(traffic):
    deployment = traffic.model.deployments.get(environment__name="staging")
    # The traffic's incomes drift at alert level, which the default one-feature rule would also fire on: these
    # tests follow one rule alone (tests/monitoring/test_feature_drift_rule.py follows the defaults).
    deployment.alert_rules.update(enabled=False)
    return AlertRule.objects.create(
        deployment=deployment,
        metric=AlertRule.Metric.FEATURE_PSI,
        feature="income",
        threshold=0.1,
        window="24h",
        cooldown_minutes=0,
        notify=["group:editors"],
        trigger_retraining=True,
    )


def test_every_deployment_starts_with_the_default_rules(deployed):
    rules = {(r.metric, r.threshold) for r in AlertRule.objects.all()}
    assert rules == {("drift_share", 0.5), ("feature_drift", 1.0), ("error_rate", 0.01), ("latency_p95", 500.0)}


def test_a_drift_alert_fires_notifies_and_starts_retraining(psi_rule, editor):
    fired, _ = evaluate()
    settle()
    assert fired == 1
    alert = Alert.objects.get(rule=psi_rule)
    assert alert.state == "firing" and alert.value > 0.1 and "income" in alert.message
    assert AuditEvent.objects.filter(verb="alert.fired", object_id=str(alert.pk)).exists()
    assert Notification.objects.filter(user=editor, message__startswith="Alert:").exists()
    run = PipelineRun.objects.get(trigger="drift")
    assert run.pipeline.model_name == "credit-card-approval"
    alert.refresh_from_db()
    assert alert.runs_started == [run.pk]
    # Still holding: the open alert is updated, not doubled.
    evaluate()
    assert Alert.objects.filter(rule=psi_rule).count() == 1


def test_an_alert_resolves_when_its_condition_clears_and_respects_the_cool_down(psi_rule):
    evaluate()
    psi_rule.threshold = 50
    psi_rule.cooldown_minutes = 60
    psi_rule.save()
    _, resolved = evaluate()
    assert resolved == 1 and Alert.objects.get().state == "resolved"
    psi_rule.threshold = 0.1
    psi_rule.save()
    assert evaluate() == (0, 0)  # cooling down
    psi_rule.cooldown_minutes = 0
    psi_rule.save()
    assert evaluate()[0] == 1


def test_a_thin_window_does_not_alert(deployed):
    rule = AlertRule.objects.get(metric="error_rate")
    rule.threshold = 0
    rule.save()
    assert evaluate() == (0, 0)  # no traffic at all: nothing to judge


def test_the_summary_lists_open_alerts(psi_rule, viewer, client_for):
    evaluate()
    body = api_client(viewer).get("/api/v1/monitoring/credit-card-approval/staging/summary/").json()
    assert [a["state"] for a in body["alerts"]] == ["firing"]
    overview = client_for(viewer).get("/monitoring/").content.decode()
    row = overview[overview.index("credit-card-approval") :]
    assert 'run-status run-firing">firing</span>' in row and "income PSI" in row


def test_the_overview_shows_each_deployments_own_latest_alert(psi_rule, client_for, viewer):
    from pipelines_app.engine.deployments import deploy_version
    from pipelines_app.models import Environment

    evaluate()  # the staging income alert fires first
    production = deploy_version(Environment.objects.get(name="production"), psi_rule.deployment.primary_version, "x")
    noisy = AlertRule.objects.get(deployment=production, metric="error_rate")
    # Many newer alerts elsewhere must not hide staging's.
    Alert.objects.bulk_create([Alert(rule=noisy, value=0.5, message="errors") for _ in range(1001)])
    overview = client_for(viewer).get("/monitoring/").content.decode()
    rows = {row.split("</td>")[1].split(">")[-1]: row for row in overview.split("<tr>")[2:]}
    assert "income PSI" in rows["staging"] and "error rate" in rows["production"]


def test_acknowledging_needs_an_editor_and_a_firing_alert(psi_rule, client_for, editor, viewer):
    evaluate()
    alert = Alert.objects.get()
    assert client_for(viewer).post(f"/monitoring/alerts/{alert.pk}/acknowledge/").status_code == 403
    response = client_for(editor).post(f"/monitoring/alerts/{alert.pk}/acknowledge/")
    assert response.status_code == 302
    alert.refresh_from_db()
    assert alert.state == "acknowledged" and alert.acknowledged_by == editor
    assert client_for(editor).post(f"/monitoring/alerts/{alert.pk}/acknowledge/").status_code == 409
    assert client_for(editor).get(f"/monitoring/alerts/{alert.pk}/acknowledge/").status_code == 405
    page = client_for(viewer).get("/monitoring/alerts/?state=acknowledged").content.decode()
    assert "income" in page and 'data-state="acknowledged"' in page


RULES_URL = "/monitoring/credit-card-approval/staging/rules/"


def test_an_editor_adds_and_removes_a_rule(deployed, client_for, editor):
    body = {"metric": "latency_p95", "threshold": "50", "window": "30m", "cooldown_minutes": "10",
            "notify": "group:editors, ops@example.com"}  # fmt: skip
    assert client_for(editor).post(RULES_URL, body).status_code == 302
    rule = AlertRule.objects.get(threshold=50)
    assert rule.notify == ["group:editors", "ops@example.com"] and rule.window == "30m"
    assert client_for(editor).post(f"{RULES_URL}{rule.pk}/delete/").status_code == 302
    assert not AlertRule.objects.filter(pk=rule.pk).exists()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"metric": "feature_psi", "feature": "colour"}, "Name one of the model&#x27;s features"),
        ({"window": "soon"}, "is not a window"),
        ({"notify": "somebody"}, "Not a group, e-mail address or webhook"),
        ({"threshold": "high"}, "Enter a number"),
        ({"metric": "mood"}, "Select a valid choice"),
    ],
)
def test_bad_rules_are_400_and_nothing_is_saved(deployed, client_for, editor, change, message):
    body = {"metric": "error_rate", "threshold": "0.05", "window": "1h", "cooldown_minutes": "5", **change}
    before = AlertRule.objects.count()
    response = client_for(editor).post(RULES_URL, body)
    assert response.status_code == 400 and message in response.content.decode()
    assert AlertRule.objects.count() == before


def test_viewers_cannot_change_rules(deployed, client_for, viewer):
    body = {"metric": "error_rate", "threshold": "0.05", "window": "1h", "cooldown_minutes": "5"}
    assert client_for(viewer).post(RULES_URL, body).status_code == 403
    rule = AlertRule.objects.first()
    assert client_for(viewer).post(f"{RULES_URL}{rule.pk}/delete/").status_code == 403
