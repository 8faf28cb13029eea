"""Attack 10: five bad passwords for a user must not lock that user out for everybody.

Failures count per username and address; behind a proxy the address is the one the proxy reports, and only a
proxy listed in TRUSTED_PROXIES is believed.
"""

import pytest

from pipelines_app.models import AuditEvent
from tests.conftest import PASSWORD, make_user

ATTACKER = "203.0.113.66"
COLLEAGUE = "198.51.100.7"
PROXY = "10.0.0.5"


@pytest.fixture
def reviewer2(db):
    return make_user("reviewer2", "reviewer")


def login(client, password, **meta):
    return client.post("/accounts/login/", {"username": "reviewer2", "password": password}, **meta)


def fail_until_locked(client, settings, **meta):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        login(client, "wrong-password", **meta)


def test_failures_from_one_address_lock_only_that_address(client, reviewer2, settings):
    fail_until_locked(client, settings, REMOTE_ADDR=ATTACKER)

    assert login(client, PASSWORD, REMOTE_ADDR=ATTACKER).status_code == 429
    assert login(client, PASSWORD, REMOTE_ADDR=COLLEAGUE).status_code == 302


def test_behind_a_trusted_proxy_each_forwarded_address_is_locked_on_its_own(client, reviewer2, settings):
    settings.TRUSTED_PROXIES = [PROXY]
    fail_until_locked(client, settings, REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR=ATTACKER)

    assert login(client, PASSWORD, REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR=ATTACKER).status_code == 429
    colleague = login(client, PASSWORD, REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR=COLLEAGUE)
    assert colleague.status_code == 302
    # The audit names the forwarded client, not the proxy everyone shares.
    assert AuditEvent.objects.filter(verb="account.login", payload__ip=COLLEAGUE).exists()
    assert AuditEvent.objects.filter(verb="account.login_failed", payload__ip=ATTACKER).count() >= 5


def test_a_trusted_proxy_is_believed_only_for_the_address_it_appended(client, reviewer2, settings):
    # The attacker writes X-Forwarded-For: <colleague> itself; the proxy appends the attacker's real address.
    settings.TRUSTED_PROXIES = [PROXY]
    fail_until_locked(client, settings, REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR=f"{COLLEAGUE}, {ATTACKER}")

    assert login(client, PASSWORD, REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR=ATTACKER).status_code == 429
    assert login(client, PASSWORD, REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR=COLLEAGUE).status_code == 302


def test_x_forwarded_for_from_an_untrusted_client_is_ignored(client, reviewer2, settings):
    assert settings.TRUSTED_PROXIES == []  # the default
    # Each attempt claims a fresh address; they all count against the address the connection came from.
    for n in range(settings.AXES_FAILURE_LIMIT):
        login(client, "wrong-password", REMOTE_ADDR=ATTACKER, HTTP_X_FORWARDED_FOR=f"192.0.2.{n}")

    assert login(client, PASSWORD, REMOTE_ADDR=ATTACKER, HTTP_X_FORWARDED_FOR="192.0.2.200").status_code == 429
    assert login(client, PASSWORD, REMOTE_ADDR=COLLEAGUE).status_code == 302


def test_x_forwarded_for_from_a_client_that_is_not_the_trusted_proxy_is_ignored(client, reviewer2, settings):
    settings.TRUSTED_PROXIES = [PROXY]
    for n in range(settings.AXES_FAILURE_LIMIT):
        login(client, "wrong-password", REMOTE_ADDR=ATTACKER, HTTP_X_FORWARDED_FOR=f"192.0.2.{n}")

    assert login(client, PASSWORD, REMOTE_ADDR=ATTACKER, HTTP_X_FORWARDED_FOR="192.0.2.200").status_code == 429
