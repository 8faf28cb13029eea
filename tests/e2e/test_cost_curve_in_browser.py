"""The evidence's cost curve draws in Chromium: the downloadable report (self-contained) opened in the browser."""

import pytest

from pipelines_app.engine.approvals import decide
from pipelines_app.ml.metrics import cost_curve
from tests.views.test_approvals_pages import waiting  # noqa: F401  (a run waiting for production's approval)

pytestmark = pytest.mark.e2e


def test_the_cost_chart_draws_with_its_chosen_point(client_for, reviewer, waiting, browser):  # noqa: F811
    candidate = waiting.model_version
    curve = cost_curve([True, False, True, True], [0.9, 0.4, 0.7, 0.3], false_positive=5, false_negative=1)
    candidate.evaluation = {**candidate.evaluation, "cost_curve": curve}
    candidate.save(update_fields=["evaluation"])
    decide(waiting, reviewer, True, "looked at the costs")
    html = client_for(reviewer).get(f"/approvals/{waiting.pk}/report/").content.decode()
    page = browser.new_page()
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.set_content(html)
    page.wait_for_selector("#evidence-cost .main-svg")
    legend = page.locator("#evidence-cost .legendtext").all_text_contents()
    assert legend == ["expected cost", "approval rate", "chosen threshold"]
    assert errors == []
    page.close()
