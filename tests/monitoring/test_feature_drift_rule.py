"""The default one-feature drift rule: one feature of nine drifting at alert level fires it and retrains once,
even when the drift share rule fires with it; the rule form checks what it counts."""

import pytest

from pipelines_app.models import Alert, AlertRule, AuditEvent, PipelineRun
from pipelines_app.monitoring.alerts import evaluate
from tests.conftest import settle

RULES_URL = "/monitoring/credit-card-approval/staging/rules/"


def test_one_feature_drifting_fires_the_default_rule_and_retrains(traffic, editor):
    deployment = traffic.model.deployments.get(environment__name="staging")
    rule = deployment.alert_rules.get(metric=AlertRule.Metric.FEATURE_DRIFT)
    assert (rule.threshold, rule.window, rule.trigger_retraining) == (1, "24h", True)

    fired, _ = evaluate()
    settle()
    assert fired >= 1
    alert = Alert.objects.get(rule=rule)
    # income is the only feature moved: the share rule (half the features) stays quiet, this one speaks.
    assert alert.value == 1 and alert.message.endswith("(now 1: income)")
    assert not Alert.objects.filter(rule__metric=AlertRule.Metric.DRIFT_SHARE).exists()
    run = PipelineRun.objects.get(trigger="drift")
    alert.refresh_from_db()
    assert alert.runs_started == [run.pk] and str(rule) == "features drifting at alert level ≥ 1 over 24h"


def test_a_second_drift_alert_does_not_start_a_second_retraining(traffic):
    deployment = traffic.model.deployments.get(environment__name="staging")
    AlertRule.objects.create(
        deployment=deployment, metric=AlertRule.Metric.FEATURE_PSI, feature="income", threshold=0.1, window="24h",
        trigger_retraining=True,
    )  # fmt: skip
    fired, _ = evaluate()
    settle()
    assert fired == 2
    assert PipelineRun.objects.filter(trigger="drift").count() == 1
    assert [a.runs_started for a in Alert.objects.all()].count([]) == 1
    assert AuditEvent.objects.filter(verb="run.drift_trigger_skipped").count() == 1


def test_without_enough_rows_the_rule_does_not_judge(deployed):
    assert evaluate() == (0, 0)
    assert not Alert.objects.exists()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"feature": "income"}, "Leave the feature empty"),
        ({"threshold": "0.5"}, "A number of features"),
        ({"threshold": "0"}, "A number of features"),
    ],
)
def test_a_bad_feature_drift_rule_is_400(deployed, client_for, editor, change, message):
    body = {"metric": "feature_drift", "threshold": "1", "window": "6h", "cooldown_minutes": "5", **change}
    before = AlertRule.objects.count()
    response = client_for(editor).post(RULES_URL, body)
    assert response.status_code == 400 and message in response.content.decode()
    assert AlertRule.objects.count() == before


def test_an_editor_adds_a_feature_drift_rule(deployed, client_for, editor):
    body = {"metric": "feature_drift", "threshold": "2", "window": "6h", "cooldown_minutes": "5"}
    assert client_for(editor).post(RULES_URL, body).status_code == 302
    assert AlertRule.objects.filter(metric="feature_drift", threshold=2, window="6h").exists()
