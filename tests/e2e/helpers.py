"""What the browser journeys share."""

from tests.conftest import PASSWORD


def log_in(browser, base, user):
    """A page of a new browser context (its own cookies), logged in as ``user``, on the overview."""
    context = browser.new_context(viewport={"width": 1280, "height": 860})
    page = context.new_page()
    page.set_default_timeout(30000)
    page.goto(base + "/accounts/login/")
    page.fill("#id_username", user.username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(base + "/")
    return page
