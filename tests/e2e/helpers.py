"""What the browser journeys share."""

import os
from pathlib import Path

from django.conf import settings

from tests.conftest import PASSWORD

SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "img"


def screenshot(page, name):
    """The page as the README shows it: written to docs/img/<name>.png when UPDATE_SCREENSHOTS=1 (to
    refresh the README's pictures), else to the test's var folder (to look at after a failure)."""
    folder = SCREENSHOTS if os.environ.get("UPDATE_SCREENSHOTS") == "1" else Path(settings.VAR_DIR) / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(folder / f"{name}.png"), full_page=True)


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
