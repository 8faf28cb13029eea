"""At phone width (390 px) in Chromium: no main page is wider than the screen, and the navigation folds behind a
Menu button that opens it."""

from datetime import timedelta

import pytest
from django.utils import timezone

from pipelines_app.models import Alert, AlertRule, ApprovalRequest, Deployment, PipelineRun, PredictionLog
from pipelines_app.monitoring.rollups import fold
from tests.conftest import PASSWORD, deploy_demo_model

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 390, "height": 844}
MAIN_PAGES = [
    "/",
    "/pipelines/",
    "/runs/",
    "/approvals/",
    "/models/",
    "/deployments/",
    "/monitoring/",
    "/monitoring/alerts/",
    "/audit/",
    "/datasets/",
]
RECORD = {"reports": 0.0, "age": 37.7, "income": 4.52, "owner": "yes", "selfemp": "no", "dependents": 3.0,
          "months": 54.0, "majorcards": 1.0, "active": 12.0}  # fmt: skip


@pytest.fixture
def busy_site(credit_pipeline, demo_dataset, editor):
    """Something on every page: a model serving with traffic and a firing alert, runs (one failed), a request
    waiting for a reviewer, the seeded dataset and pipeline. Returns the paths of their detail pages."""
    version = deploy_demo_model(demo_dataset, "credit-card-approval", "staging")
    deployment = Deployment.objects.get(environment__name="staging")
    PredictionLog.objects.bulk_create(
        PredictionLog(
            deployment=deployment, model_version=version, request_id=f"phone-{i}", predictions=["yes"],
            inputs={name: [value] for name, value in RECORD.items()}, scores=[0.7], latency_ms=4.0,
        )
        for i in range(20)
    )  # fmt: skip
    while fold():
        pass
    Alert.objects.create(rule=AlertRule.objects.filter(deployment=deployment).first(), value=0.4, message="errors")
    runs = [
        PipelineRun.objects.create(
            pipeline=credit_pipeline, pipeline_version=credit_pipeline.current_version, triggered_by=editor,
            status=status, error="ValueError: the training data has a single class" if status == "failed" else "",
        )
        for status in ("succeeded", "failed")
    ]  # fmt: skip
    request = ApprovalRequest.objects.create(
        model_version=version, environment="production", approver_groups=["reviewers"], requested_by=editor,
        message="Promote credit-card-approval v1 to production?", deadline=timezone.now() + timedelta(days=1),
    )  # fmt: skip
    # Their detail pages, which carry the widest tables and the longest codes.
    return [
        runs[1].get_absolute_url(),
        request.get_absolute_url(),
        credit_pipeline.get_absolute_url(),
        version.model.get_absolute_url(),
        version.get_absolute_url(),
        demo_dataset.dataset.get_absolute_url(),
        "/deployments/staging/credit-card-approval/",
        "/deployments/environments/",
        "/monitoring/credit-card-approval/staging/",
    ]


@pytest.fixture
def phone(browser, live_server, reviewer):
    context = browser.new_context(viewport=PHONE)
    page = context.new_page()
    page.set_default_timeout(15000)
    page.goto(live_server.url + "/accounts/login/")
    page.fill("#id_username", reviewer.username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(live_server.url + "/")
    yield page
    context.close()


def test_no_page_scrolls_sideways_at_phone_width(busy_site, live_server, phone):
    wider = {}
    for path in MAIN_PAGES + busy_site:
        phone.goto(live_server.url + path)
        width = phone.evaluate("document.documentElement.scrollWidth")
        if width > PHONE["width"]:
            wider[path] = width
    assert wider == {}, f"pages wider than {PHONE['width']} px: {wider}"


def test_the_navigation_folds_behind_a_menu_button(busy_site, live_server, phone):
    menu = phone.get_by_role("button", name="Menu")
    nav = phone.locator("nav.mainnav")
    assert menu.is_visible() and not nav.is_visible()
    assert menu.get_attribute("aria-expanded") == "false"
    assert menu.locator(".badge").inner_text() == "2"  # one request waiting for the reviewer, one alert firing
    menu.click()
    assert nav.is_visible() and menu.get_attribute("aria-expanded") == "true"
    alerts = nav.get_by_role("link", name="Alerts")
    assert alerts.inner_text().replace("\n", " ") == "Alerts 1"
    alerts.click()
    phone.wait_for_url(live_server.url + "/monitoring/alerts/")
    assert not phone.locator("nav.mainnav").is_visible()
    phone.get_by_role("button", name="Menu").click()
    assert phone.locator("nav.mainnav a[aria-current=page]").inner_text().startswith("Alerts")
    phone.get_by_role("button", name="Menu").click()
    assert not phone.locator("nav.mainnav").is_visible()


def test_the_navigation_stays_open_on_a_wide_screen(busy_site, live_server, page, reviewer):
    page.goto(live_server.url + "/accounts/login/")
    page.fill("#id_username", reviewer.username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(live_server.url + "/")
    assert page.locator("nav.mainnav").is_visible()
    assert not page.get_by_role("button", name="Menu").is_visible()
    assert page.locator("nav.mainnav").get_by_role("link", name="Alerts").is_visible()
