"""The shell in headless Chromium: log in, see the navigation, move around."""

import pytest

from tests.conftest import PASSWORD

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_login_and_navigation(page, live_server, reviewer):
    page.goto(live_server.url + "/pipelines/")
    assert "/accounts/login/" in page.url
    page.fill("#id_username", reviewer.username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(live_server.url + "/pipelines/")
    nav = page.locator("nav.mainnav")
    for label in [
        "Overview",
        "Pipelines",
        "Runs",
        "Approvals",
        "Models",
        "Deployments",
        "Monitoring",
        "Datasets",
        "Audit",
    ]:
        assert nav.get_by_role("link", name=label).is_visible()
    assert page.locator("nav.mainnav a[aria-current=page]").inner_text() == "Pipelines"
    assert page.get_by_text("No pipelines yet.").is_visible()
    nav.get_by_role("link", name="Audit").click()
    page.wait_for_url(live_server.url + "/audit/")
    assert page.get_by_role("cell", name="account.login").first.is_visible()
    assert page.locator(".usermenu summary").inner_text().startswith(reviewer.username)


def test_wrong_password_shows_a_message(page, live_server, reviewer):
    page.goto(live_server.url + "/accounts/login/")
    page.fill("#id_username", reviewer.username)
    page.fill("#id_password", "not-the-password")
    page.click("button[type=submit]")
    assert page.get_by_role("alert").inner_text().startswith("Please enter a correct username")
