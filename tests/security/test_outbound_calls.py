"""Attack 4 of issue 13, SSRF from the worker: webhooks may not reach the site's own machine or network.

Every attack aims at a real receiver on loopback that records what reaches it; each must be refused when the pipeline
file or alert rule is saved and again when the call is made (a file saved before, a name that resolves elsewhere
later), leave nothing at the receiver, and show as a refused delivery and an audit event. A receiver an admin listed
in NOTIFY_ALLOWED_HOSTS still gets its calls.
"""

import json
import socket

import pytest

from pipelines_app.engine.runs import start_run
from pipelines_app.models import (
    Alert,
    AlertRule,
    AuditEvent,
    Delivery,
    Deployment,
    Environment,
    Pipeline,
    PipelineRun,
    RegisteredModel,
)
from pipelines_app.notifications import notify_alert, notify_run_event
from tests.conftest import api_client, settle
from tests.receivers import Receiver

# (what the attack is, the URL with the receiver's port, the allow-list entry that would let the file be saved)
ATTACKS = [
    ("loopback", "http://127.0.0.1:{port}/hook", "127.0.0.1"),
    ("localhost", "http://localhost:{port}/hook", "localhost"),
    ("shorthand", "http://127.1:{port}/hook", "127.1"),
    ("ipv4-mapped", "http://[::ffff:127.0.0.1]:{port}/hook", "::ffff:127.0.0.1"),
    ("metadata", "http://169.254.169.254/latest/meta-data/", "169.254.169.254"),
]


@pytest.fixture
def receiver():
    receiver = Receiver()
    yield receiver
    receiver.close()


def hooked_pipeline_file(url):
    """A pipeline whose failure notification (line 5) and notify step (line 9) both call `url`."""
    return (
        "version: 1\n"
        "name: hooked\n"
        "model: hooked-model\n"
        "notifications:\n"
        f'  - {{on: [failed, succeeded], to: ["webhook:{url}"]}}\n'
        "stages:\n"
        "  - name: tell\n"
        "    steps:\n"
        f'      - {{name: tell, type: notify, channels: [webhook], to: ["webhook:{url}"]}}\n'
    )


def saved_pipeline(url, editor, settings, allowed):
    """The file saved while `allowed` was listed (or before this check existed), the list then emptied."""
    settings.NOTIFY_ALLOWED_HOSTS = [allowed]
    pipeline = Pipeline.objects.create_from_yaml(hooked_pipeline_file(url), editor)
    settings.NOTIFY_ALLOWED_HOSTS = []
    return pipeline


def failed_run(pipeline):
    return PipelineRun.objects.create(
        pipeline=pipeline, pipeline_version=pipeline.current_version, status="failed", error="boom"
    )


@pytest.mark.parametrize(("attack", "url", "allowed"), ATTACKS, ids=[a[0] for a in ATTACKS])
def test_a_pipeline_file_with_a_webhook_to_a_local_address_is_refused_at_its_lines(
    attack, url, allowed, editor, environments, receiver
):
    url = url.format(port=receiver.port)
    response = api_client(editor).post("/api/v1/pipelines/", {"yaml": hooked_pipeline_file(url)}, format="json")
    assert response.status_code == 400
    errors = [e for e in response.json()["errors"] if "refused" in e["message"]]
    assert [e["line"] for e in errors] == [5, 9]
    assert "NOTIFY_ALLOWED_HOSTS" in errors[0]["message"]
    assert not Pipeline.objects.exists()


def test_the_validate_endpoint_says_why_a_webhook_is_refused(editor, environments):
    response = api_client(editor).post(
        "/api/v1/pipelines/validate/", {"yaml": hooked_pipeline_file("http://169.254.169.254/x")}, format="json"
    )
    assert response.status_code == 200
    assert response.json()["valid"] is False
    assert "169.254.169.254 is a link-local address" in response.json()["errors"][0]["message"]


def test_with_an_allow_list_only_listed_hosts_may_be_named(editor, environments, settings):
    settings.NOTIFY_ALLOWED_HOSTS = ["hooks.example.com"]
    client = api_client(editor)
    refused = client.post(
        "/api/v1/pipelines/", {"yaml": hooked_pipeline_file("https://other.example.org/x")}, format="json"
    )
    assert refused.status_code == 400
    assert "'other.example.org' is not in NOTIFY_ALLOWED_HOSTS" in refused.json()["errors"][0]["message"]
    accepted = client.post(
        "/api/v1/pipelines/", {"yaml": hooked_pipeline_file("https://hooks.example.com/x")}, format="json"
    )
    assert accepted.status_code == 201


@pytest.mark.parametrize(("attack", "url", "allowed"), ATTACKS, ids=[a[0] for a in ATTACKS])
def test_a_run_notification_to_a_local_address_is_refused_when_sent_and_nothing_arrives(
    attack, url, allowed, editor, environments, receiver, settings, client_for, viewer
):
    url = url.format(port=receiver.port)
    run = failed_run(saved_pipeline(url, editor, settings, allowed))

    notify_run_event(run)
    settle()

    assert receiver.requests == []
    delivery = Delivery.objects.get(run=run)
    assert delivery.status == "refused"
    assert delivery.purpose == "run"
    assert "is a link-local address" in delivery.error or "loopback" in delivery.error or "local host" in delivery.error
    event = AuditEvent.objects.get(verb="webhook.refused")
    assert event.payload["url"] == url and event.payload["run"] == run.pk
    page = client_for(viewer).get(f"/runs/{run.pk}/").content.decode()
    assert 'data-delivery-status="refused"' in page
    assert "run notification" in page


def test_a_public_name_that_resolves_to_loopback_when_sent_is_refused(
    editor, environments, receiver, settings, monkeypatch
):
    # The file names a public host; by the time the run ends its DNS answers loopback (rebinding, or a name the
    # attacker controls). The check after resolution is the one that holds.
    url = f"http://hooks.example.com:{receiver.port}/hook"
    run = failed_run(Pipeline.objects.create_from_yaml(hooked_pipeline_file(url), editor))
    real_getaddrinfo = socket.getaddrinfo

    def attackers_dns(host, port, *args, **kwargs):
        if host == "hooks.example.com":
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", port))]
        return real_getaddrinfo(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", attackers_dns)

    notify_run_event(run)
    settle()

    assert receiver.requests == []
    delivery = Delivery.objects.get(run=run)
    assert delivery.status == "refused"
    assert delivery.error == "host 'hooks.example.com' resolves to 127.0.0.1 is a loopback address"
    assert AuditEvent.objects.filter(verb="webhook.refused", object_id=str(delivery.pk)).exists()


def test_a_redirect_from_an_allowed_receiver_to_a_loopback_one_is_not_followed(editor, environments, settings):
    internal = Receiver(host="127.0.0.2")
    allowed = Receiver(status=302, location=internal.url)
    try:
        settings.NOTIFY_ALLOWED_HOSTS = ["127.0.0.1"]
        run = failed_run(Pipeline.objects.create_from_yaml(hooked_pipeline_file(allowed.url), editor))

        notify_run_event(run)
        settle()

        assert [method for method, _, _ in allowed.requests] == ["POST"]
        assert internal.requests == []
        delivery = Delivery.objects.get(run=run)
        assert (delivery.status, delivery.http_status, delivery.attempts) == ("failed", 302, 1)
        assert "redirects are not followed" in delivery.error
    finally:
        internal.close()
        allowed.close()


def test_a_notify_step_to_a_local_address_is_refused_when_sent(editor, environments, receiver, settings, run_inline):
    pipeline = saved_pipeline(receiver.url, editor, settings, "127.0.0.1")

    run = run_inline(start_run(pipeline, editor))

    # The step queued its delivery and the run went on; the delivery was refused when it was sent.
    assert run.status == "succeeded"
    assert receiver.requests == []
    delivery = Delivery.objects.get(run=run, purpose="notify_step")
    assert delivery.status == "refused" and "loopback" in delivery.error


@pytest.fixture
def deployment(db):
    return Deployment.objects.create(
        environment=Environment.objects.get_or_create(name="staging")[0],
        model=RegisteredModel.objects.create(name="hooked-model"),
    )


def test_an_alert_rule_saved_with_bad_webhooks_refuses_them_when_it_fires(deployment, receiver, client_for, viewer):
    # Saved before this check existed: 'httpx' made evaluate_alerts raise, loopback was called.
    rule = AlertRule.objects.create(
        deployment=deployment,
        metric=AlertRule.Metric.ERROR_RATE,
        threshold=0.01,
        notify=["webhook:httpx://hooks.example.com/x", f"webhook:{receiver.url}"],
    )
    alert = Alert.objects.create(rule=rule, value=0.5, message="error rate 0.5")

    notify_alert(alert, f"Alert: {alert.message}")
    settle()

    assert receiver.requests == []
    deliveries = Delivery.objects.filter(alert=alert).order_by("id")
    assert [(d.purpose, d.status) for d in deliveries] == [("alert", "refused"), ("alert", "refused")]
    assert "not an http(s) address" in deliveries[0].error
    assert "loopback" in deliveries[1].error
    assert AuditEvent.objects.filter(verb="webhook.refused").count() == 2
    page = client_for(viewer).get("/monitoring/alerts/").content.decode()
    assert page.count('data-delivery-status="refused"') == 2


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ("webhook:httpx://hooks.example.com/x", "is not an http(s) address"),
        ("webhook:http://127.1:8000/x", "127.0.0.1 is a loopback address"),
        ("webhook:http://[::ffff:127.0.0.1]/x", "127.0.0.1 is a loopback address"),
        ("webhook:http://169.254.169.254/latest", "is a link-local address"),
        ("webhook:http://localhost:8000/", "is a local host name"),
    ],
)
def test_the_alert_rule_form_refuses_webhooks_the_site_may_not_call(deployment, client_for, editor, entry, message):
    response = client_for(editor).post(
        "/monitoring/hooked-model/staging/rules/",
        {"metric": "error_rate", "threshold": "0.01", "window": "1h", "cooldown_minutes": "60", "notify": entry},
    )
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not AlertRule.objects.filter(deployment=deployment).exists()


def test_a_delivery_to_an_explicitly_allowed_loopback_receiver_arrives(
    editor, environments, receiver, settings, client_for, viewer
):
    settings.NOTIFY_ALLOWED_HOSTS = ["127.0.0.1"]
    run = failed_run(Pipeline.objects.create_from_yaml(hooked_pipeline_file(receiver.url), editor))

    notify_run_event(run)
    settle()

    [(method, path, body)] = receiver.requests
    assert (method, path) == ("POST", "/hook")
    assert json.loads(body)["run"] == run.pk and json.loads(body)["event"] == "failed"
    delivery = Delivery.objects.get(run=run)
    assert (delivery.status, delivery.http_status, delivery.attempts) == ("delivered", 200, 1)
    assert not AuditEvent.objects.filter(verb="webhook.refused").exists()
    page = client_for(viewer).get(f"/runs/{run.pk}/").content.decode()
    assert 'data-delivery-status="delivered"' in page
