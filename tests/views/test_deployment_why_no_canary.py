"""The deployment page says why a canary the pipeline file asked for is not there: on a first deploy there is no
primary to compare with, so the version goes out whole (the reason is kept in the audit payload)."""

from pipelines_app.engine.deployments import deploy_version, rollback
from pipelines_app.models import AuditEvent, Environment, ModelVersion, RegisteredModel

URL = "/deployments/production/churn/"


def _versions(n):
    model = RegisteredModel.objects.create(name="churn")
    return [
        ModelVersion.objects.create(model=model, version=i, artifact=f"models/churn/v{i}.skops", sha256="0" * 64)
        for i in range(1, n + 1)
    ]


def test_a_first_canary_deploy_says_it_went_out_whole(client_for, viewer, environments):
    (v1,) = _versions(1)
    deploy_version(Environment.objects.get(name="production"), v1, "system", strategy="canary", canary_percent=10)
    event = AuditEvent.objects.get(verb="deployment.deployed")
    assert event.payload["strategy"] == "replace"
    assert event.payload["requested"] == {"strategy": "canary", "canary_percent": 10}
    text = client_for(viewer).get(URL).content.decode()
    assert (
        '<p class="notice" id="why-no-canary">No canary: Asked for a 10% canary, but this was the first deploy '
        "here: there was no primary to compare with, so v1 went out whole.</p>"
    ) in text
    assert "<td>deploy<br><small" in text  # the history's action stays "deploy", with the reason under it


def test_a_second_canary_deploy_is_a_canary_and_needs_no_explanation(client_for, viewer, environments):
    v1, v2 = _versions(2)
    production = Environment.objects.get(name="production")
    deploy_version(production, v1, "system", strategy="canary", canary_percent=10)
    deploy_version(production, v2, "system", strategy="canary", canary_percent=10)
    text = client_for(viewer).get(URL).content.decode()
    assert "(10% of traffic)" in text
    assert 'id="why-no-canary"' not in text
    assert "requested" not in AuditEvent.objects.filter(verb="deployment.deployed").first().payload


def test_a_plain_first_deploy_has_nothing_to_explain(client_for, viewer, environments):
    (v1,) = _versions(1)
    deploy_version(Environment.objects.get(name="production"), v1, "system")
    assert 'id="why-no-canary"' not in client_for(viewer).get(URL).content.decode()


def test_after_a_rollback_the_first_deploys_reason_is_no_longer_shown(client_for, viewer, environments):
    v1, v2 = _versions(2)
    production = Environment.objects.get(name="production")
    deploy_version(production, v1, "system", strategy="canary", canary_percent=10)
    deployment = deploy_version(production, v2, "system")
    rollback(deployment, "system")
    text = client_for(viewer).get(URL).content.decode()
    assert 'id="why-no-canary"' not in text
    assert "went out whole" in text  # still in the history, beside the deploy it explains
