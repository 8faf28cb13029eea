"""In Chromium: build the credit card pipeline with the wizard and see its graph; then break and
fix it in the YAML editor, see the error at its line, save a new version and see the diff."""

import pytest

from pipelines_app.models import Pipeline
from tests.conftest import PASSWORD

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def login(page, base, user):
    page.goto(base + "/accounts/login/")
    page.fill("#id_username", user.username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(base + "/")


def test_wizard_then_yaml_editor(page, live_server, editor, environments, demo_dataset):
    base = live_server.url
    login(page, base, editor)

    page.goto(base + "/pipelines/new/wizard/")
    page.fill("#id_name", "credit-card-wizard")
    page.select_option("#id_target", "card")
    assert page.locator("#id_positive_label option").all_inner_texts() == ["yes", "no"]
    page.select_option("#id_positive_label", "yes")
    page.select_option("#id_estimator", "hist_gradient_boosting")
    assert page.locator("[data-param=regularisation]").is_hidden()
    page.fill("#id_iterations", "150")
    page.check("input[name=drop][value=share]")
    page.check("input[name=drop][value=expenditure]")
    page.check("input[name=sensitive_features][value=owner]")
    page.select_option("#id_strategy", "canary")
    page.get_by_role("button", name="Save pipeline").click()
    page.wait_for_url(base + "/pipelines/credit-card-wizard/")
    graph = page.locator(".stage-graph")
    assert graph.locator(".stage-name").all_inner_texts()[:2] == ["data", "train"]
    assert graph.locator(".marker-approval").count() == 1
    assert graph.locator(".marker-deploy").count() == 2

    page.get_by_role("button", name="Edit YAML").click()
    page.wait_for_selector(".CodeMirror")
    # Put a typo on the line that names the train step's type.
    text = page.evaluate("window.pipelineEditor.getValue()")
    lines = text.splitlines()
    line = next(i for i, s in enumerate(lines) if s.strip() == "type: train") + 1
    page.evaluate("t => window.pipelineEditor.setValue(t)", text.replace("type: train", "type: trian"))
    error = page.locator("#validation ul.errors li").first
    error.wait_for()
    assert error.inner_text().startswith(f"line {line}, column")
    assert "did you mean 'train'" in error.inner_text()
    assert page.locator(".CodeMirror-lint-marker-error").count() >= 1

    page.evaluate("t => window.pipelineEditor.setValue(t)", text.replace("max_iter: 150", "max_iter: 175"))
    page.locator("#validation .status-ok").wait_for()
    page.fill("#id_note", "more iterations")
    page.get_by_role("button", name="Save new version").click()
    page.wait_for_url(base + "/pipelines/credit-card-wizard/")
    assert Pipeline.objects.get(slug="credit-card-wizard").current_version.number == 2

    page.get_by_role("button", name="Compare side by side").click()
    page.wait_for_selector("table.diff")
    assert "max_iter: 175" in page.locator("table.diff").inner_text().replace("\xa0", " ")
    assert page.locator("table.diff .diff_add, table.diff .diff_chg").count() >= 1
