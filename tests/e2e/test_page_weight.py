"""What the pages cost a browser, served as in production: the static files collected with their manifest (names
that carry a hash), gzipped and cached for years by whitenoise. A page with charts loads plotly.js's cartesian
bundle, not the whole of plotly.js; a page without charts loads no plotly at all; no page transfers more than
1.5 MB of JavaScript. Bytes only: load times are measured by benchmarks/page_weight.py."""

import urllib.request

import pytest
from django.conf import settings
from django.core.management import call_command
from django.test import override_settings
from django.test.testcases import LiveServerThread

from pipelines_app.engine.runs import start_run
from pipelines_app.models import ApprovalRequest, Deployment
from tests.e2e.helpers import log_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

MAX_SCRIPT_BYTES = 1_500_000
SCRIPTS = """performance.getEntriesByType("resource").filter(e => e.initiatorType === "script")
  .map(e => ({url: e.name, transferred: e.transferSize, body: e.encodedBodySize, decoded: e.decodedBodySize}))"""


@pytest.fixture(scope="module")
def site(tmp_path_factory, django_db_blocker):
    """The site as `make run` serves it: after collectstatic, whitenoise serves the files (no finders)."""
    storages = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
    }
    with override_settings(STATIC_ROOT=tmp_path_factory.mktemp("static"), STORAGES=storages):
        call_command("collectstatic", interactive=False, verbosity=0)
        with django_db_blocker.unblock():
            # No static handler in front of the site: the requests reach whitenoise, as in production.
            server = LiveServerThread("127.0.0.1", lambda handler: handler)
            server.daemon = True
            server.start()
            server.is_ready.wait()
            if server.error:
                raise server.error
            yield f"http://127.0.0.1:{server.port}"
            server.terminate()


@pytest.fixture
def waiting_run(credit_pipeline, editor, run_inline):
    """The demo pipeline run up to its approval: a run page, a deployment in staging and evidence to decide on."""
    return run_inline(start_run(credit_pipeline, editor))


def scripts_of(browser, state, url):
    """The scripts a first visit to ``url`` loads (a new context: nothing cached), and the page's console errors."""
    context = browser.new_context(storage_state=state, viewport={"width": 1280, "height": 900})
    page = context.new_page()
    errors = []
    page.on("console", lambda message: message.type == "error" and errors.append(message.text))
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(url, wait_until="load")
    scripts = page.evaluate(SCRIPTS)
    return page, scripts, errors


def test_chart_pages_load_the_cartesian_bundle_and_stay_under_the_limit(
    site, browser, reviewer, waiting_run, demo_dataset
):
    assert waiting_run.status == "waiting_approval"
    approval = ApprovalRequest.objects.get(run=waiting_run)
    staging = Deployment.objects.get(environment__name="staging")
    first = log_in(browser, site, reviewer)
    state = first.context.storage_state()
    first.context.close()
    pages = {
        "evidence": approval.get_absolute_url(),
        "run": waiting_run.get_absolute_url(),
        "dashboard": f"/monitoring/{staging.model.name}/staging/",
        "dataset": f"/datasets/{demo_dataset.dataset.slug}/",
    }
    for name, path in pages.items():
        page, scripts, errors = scripts_of(browser, state, site + path)
        plotly = [s for s in scripts if "plotly" in s["url"]]
        assert len(plotly) == 1 and "/plotly-cartesian-4.1.1.min." in plotly[0]["url"], (name, plotly)
        assert plotly[0]["body"] < 600_000, "gzipped: a third of its 1.5 MB"
        assert sum(s["body"] for s in scripts) <= MAX_SCRIPT_BYTES, (name, scripts)
        if name == "evidence":
            # Every trace type the evidence draws is in the bundle: curves (scatter) and confusion matrices (heatmap).
            page.locator("#evidence-confusion-candidate .main-svg").first.wait_for()
            drawn = page.evaluate(
                "['evidence-roc', 'evidence-confusion-candidate'].map(id => document.getElementById(id)._fullData[0])"
                ".map(t => [t.type, t.visible])"
            )
            assert drawn == [["scatter", True], ["heatmap", True]]
        assert errors == [], (name, errors)
        page.context.close()

    # The bundle's name carries its hash: gzipped, and cached for as long as a cache keeps anything.
    with urllib.request.urlopen(urllib.request.Request(plotly[0]["url"], headers={"Accept-Encoding": "gzip"})) as r:
        assert r.headers["Content-Encoding"] == "gzip"
        assert "immutable" in r.headers["Cache-Control"] and "max-age=315360000" in r.headers["Cache-Control"]


def test_a_page_without_charts_loads_no_plotly(site, browser, viewer):
    first = log_in(browser, site, viewer)
    state = first.context.storage_state()
    first.context.close()
    for path in ("/", "/runs/", "/approvals/", "/monitoring/alerts/"):
        page, scripts, errors = scripts_of(browser, state, site + path)
        assert scripts and not [s for s in scripts if "plotly" in s["url"]], path
        assert errors == [], (path, errors)
        page.context.close()
