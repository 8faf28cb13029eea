"""A refused change answers with its page, a 4xx status and the reason, never a redirect carrying a 4xx (which
browsers show as a blank page)."""

import pytest

from pipelines_app.models import Alert, AlertRule, Deployment, DriftReport, Environment
from tests.conftest import deploy_demo_model

DASHBOARD = "/monitoring/credit-card-approval/staging/"


@pytest.fixture
def version(demo_dataset, environments):
    return deploy_demo_model(demo_dataset, "credit-card-approval", "staging")


def refused(response, status):
    assert response.status_code == status
    assert "Location" not in response.headers
    return response.content.decode()


def test_acknowledging_an_alert_that_no_longer_fires_shows_the_alerts_with_the_reason(version, client_for, editor):
    rule = AlertRule.objects.filter(deployment__environment__name="staging").first()
    alert = Alert.objects.create(rule=rule, value=0.5, message="errors", state=Alert.State.RESOLVED)
    text = refused(client_for(editor).post(f"/monitoring/alerts/{alert.pk}/acknowledge/"), 409)
    assert "This alert is resolved: only a firing alert is acknowledged." in text
    assert "<h1>Alerts" in text and 'data-state="resolved"' in text
    alert.refresh_from_db()
    assert alert.state == Alert.State.RESOLVED and alert.acknowledged_by is None


def test_a_drift_report_over_a_bad_window_shows_the_dashboard_with_the_reason(version, client_for, editor):
    text = refused(client_for(editor).post(f"{DASHBOARD}reports/", {"window": "soon"}), 400)
    assert "&#x27;soon&#x27; is not a window" in text and "Alert rules" in text
    assert not DriftReport.objects.exists()


def test_a_drift_report_where_nothing_serves_shows_the_dashboard_with_the_reason(version, client_for, editor):
    production = Environment.objects.get(name="production")
    Deployment.objects.create(environment=production, model=version.model)
    url = "/monitoring/credit-card-approval/production/reports/"
    text = refused(client_for(editor).post(url, {"window": "24h"}), 409)
    assert "Nothing serves here, so there is nothing to report on." in text and "Alert rules" in text
    assert not DriftReport.objects.exists()


def test_a_refused_deployment_action_shows_the_deployment_with_the_reason(version, client_for, editor):
    url = "/deployments/staging/credit-card-approval/"
    text = refused(client_for(editor).post(url + "abort-canary/"), 409)
    assert "has no canary to abort." in text and 'id="primary-version">v1<' in text
    assert Deployment.objects.get(environment__name="staging").primary_version == version


def test_refused_model_settings_show_the_model_with_the_reason_and_the_saved_values(version, client_for, editor):
    url = "/models/credit-card-approval/settings/"
    text = refused(client_for(editor).post(url, {"drift_psi_warn": "0.5", "drift_psi_alert": "0.3"}), 400)
    assert "The PSI alert limit is below its warning." in text
    assert "Drift limits: PSI 0.1 / 0.25" in text  # what holds, not what was refused
    version.model.refresh_from_db()
    assert (version.model.drift_psi_warn, version.model.drift_psi_alert) == (0.1, 0.25)
