"""/api/docs/ under the site's Content-Security-Policy: Swagger UI (from the sidecar package) starts from a script
file of its own (/api/docs/?script), never an inline one, and lists the operations."""

import pytest

from tests.e2e.helpers import log_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_the_api_docs_render_their_operations_with_no_csp_error(browser, live_server, viewer):
    page = log_in(browser, live_server.url, viewer)
    errors = []
    page.on("console", lambda message: message.type == "error" and errors.append(message.text))
    page.on("pageerror", lambda error: errors.append(str(error)))
    response = page.goto(live_server.url + "/api/docs/")
    assert "script-src 'self'" in response.headers["content-security-policy"]
    page.get_by_text("/api/v1/pipelines/", exact=True).first.wait_for()
    assert page.locator(".opblock").count() > 20
    assert page.locator("script:not([src])").count() == 0
    assert errors == []
    page.context.close()
