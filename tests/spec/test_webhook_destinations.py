"""Where a 'webhook:' recipient may point, checked without Django or DNS (the outbound client repeats it after
resolving the name)."""

import pytest

from pipelines_app.spec import SpecContext, validate_pipeline
from pipelines_app.spec.destinations import destination_problem


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://127.0.0.1:8000/", "127.0.0.1 is a loopback address"),
        ("http://127.1/", "127.0.0.1 is a loopback address"),
        ("http://2130706433/", "127.0.0.1 is a loopback address"),
        ("http://0x7f.1/", "127.0.0.1 is a loopback address"),
        ("http://[::1]/", "::1 is a loopback address"),
        ("http://[::ffff:127.0.0.1]/", "127.0.0.1 is a loopback address"),
        ("http://169.254.169.254/latest/meta-data/", "169.254.169.254 is a link-local address"),
        ("http://10.1.2.3/", "10.1.2.3 is a private address"),
        ("http://100.64.0.1/", "100.64.0.1 is not a public internet address"),
        ("http://224.0.0.1/", "224.0.0.1 is a multicast address"),
        ("http://0.0.0.0/", "0.0.0.0 is an unspecified address"),
        ("http://localhost:8000/", "'localhost' is a local host name"),
        ("http://metadata/computeMetadata/v1/", "'metadata' is a local host name"),
        ("httpx://hooks.example.com/", "is not an http(s) address"),
        ("http://hooks.example.com@127.0.0.1/", "carries credentials"),
    ],
)
def test_local_and_odd_destinations_are_refused(url, reason):
    assert reason in destination_problem(url)


def test_public_hosts_pass_and_a_listed_host_is_trusted_as_it_is():
    assert destination_problem("https://hooks.example.com/ml") is None
    assert destination_problem("http://127.0.0.1:9/", ["127.0.0.1"]) is None
    assert destination_problem("https://ci.example.com/x", [".example.com"]) is None
    assert "not in NOTIFY_ALLOWED_HOSTS" in destination_problem("https://hooks.example.org/", ["127.0.0.1"])


def test_the_file_is_checked_only_when_the_context_carries_the_allow_list():
    text = (
        "version: 1\nname: p\nmodel: m\n"
        'notifications:\n  - {on: [failed], to: ["webhook:http://127.0.0.1:9/"]}\n'
        "stages:\n  - name: s\n    steps:\n      - {name: tell, type: notify}\n"
    )
    assert validate_pipeline(text, SpecContext()) == []
    [error] = validate_pipeline(text, SpecContext(webhook_allowed_hosts=[]))
    assert error.line == 5
    assert "loopback" in error.message
