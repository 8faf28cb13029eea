#!/usr/bin/env python
"""make bench: what the main pages cost a browser, served as `make run` serves them (collectstatic, gunicorn,
whitenoise: hashed names, gzip), and how long the approval evidence page takes to draw in Chromium.

Targets (issue 15): no page transfers more than 1.5 MB of JavaScript; the evidence page loads in under 1 s on a
quiet machine. References measured in the same run: the same evidence page with the whole of plotly.js put in
place of the cartesian bundle (what every chart page loaded before), and a page without charts (the overview).
Figures are printed, never asserted. BENCH_LOADS changes the number of cold loads per figure (default 5).
"""

import os
import secrets
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
LOADS = int(os.environ.get("BENCH_LOADS", "5"))
PASSWORD = secrets.token_urlsafe(12)  # the demo users' password in this run only
os.environ["DEMO_PASSWORD"] = PASSWORD
from benchmarks.common import isolate  # noqa: E402  (after sys.path; before Django loads settings)
from mlops_site.local_redis import free_port  # noqa: E402

VAR, private = isolate("page_weight")

SCRIPTS = """performance.getEntriesByType("resource").filter(e => e.initiatorType === "script")
  .map(e => ({url: e.name, body: e.encodedBodySize, decoded: e.decodedBodySize}))"""
CHARTS_DRAWN = "#evidence-importance .main-svg"


def wait_until_up(url, timeout=120):
    import urllib.request

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url, timeout=2)
            return
        except OSError:
            time.sleep(0.3)
    raise RuntimeError(f"{url} did not answer")


def drive(run):
    """The run in this process, step after step, until it waits or ends (the outbox worked through between)."""
    from pipelines_app.engine import reactions
    from pipelines_app.engine.runs import advance, execute
    from pipelines_app.models import Event, StepRun

    def settle():
        while pending := list(Event.objects.pending().filter(attempts=0).values_list("pk", flat=True)):
            for pk in pending:
                reactions.react(pk)

    while True:
        settle()
        advance(run.pk)
        step = StepRun.objects.filter(run=run, status="queued").order_by("position").first()
        if step is None:
            break
        execute(step.pk, step.attempt, host="bench")
    settle()
    run.refresh_from_db()
    return run


def seed():
    """The demo (users, dataset, pipeline), one run of it up to its approval, and staging serving its model."""
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    call_command("collectstatic", interactive=False, verbosity=0)
    call_command("seed_demo", stdout=open(os.devnull, "w"))
    from django.contrib.auth.models import User

    from pipelines_app.engine.runs import start_run
    from pipelines_app.models import ApprovalRequest, Pipeline

    run = drive(start_run(Pipeline.objects.get(slug="credit-card-approval"), User.objects.get(username="editor")))
    assert run.status == "waiting_approval", run.status
    return run, ApprovalRequest.objects.get(run=run)


def traffic(base):
    """Two days of requests, so that the dashboard's time series have history to draw."""
    from datetime import timedelta

    from django.core.management import call_command
    from django.db.models import F

    from pipelines_app.models import PredictionLog
    from pipelines_app.monitoring.rollups import fold
    from pipelines_app.serving.prediction_log import drain

    call_command(
        "simulate_traffic",
        "--model=credit-card-approval",
        "--environment=staging",
        "--rows=600",
        "--feedback-rate=0.3",
        f"--url={base}",
        stdout=open(os.devnull, "w"),
    )
    drain()
    ids = list(PredictionLog.objects.order_by("id").values_list("id", flat=True))
    for hour in range(48):
        chunk = ids[hour * len(ids) // 48 : (hour + 1) * len(ids) // 48]
        PredictionLog.objects.filter(id__in=chunk).update(created_at=F("created_at") - timedelta(hours=48 - hour))
    while fold():
        pass


def main():
    from benchmarks.common import ensure_database

    ensure_database()
    import django

    django.setup()
    run, approval = seed()
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    web = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "mlops_site.wsgi", "--bind", f"127.0.0.1:{port}", "--workers", "2"],
        cwd=ROOT,
        env=os.environ.copy(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_until_up(base + "/accounts/login/")
        traffic(base)
        measure(base, run, approval)
    finally:
        web.terminate()
        web.wait(30)
        if private:
            private.stop()


def measure(base, run, approval):
    import plotly
    from playwright.sync_api import sync_playwright

    full_bundle = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
    pages = {
        "overview": "/",
        "dashboard": "/monitoring/credit-card-approval/staging/",
        "evidence": approval.get_absolute_url(),
        "run": run.get_absolute_url(),
        "dataset": "/datasets/credit-card-applications/",
        "model version": "/models/credit-card-approval/v1/",
        "deployment": "/deployments/staging/credit-card-approval/",
    }
    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path="/usr/bin/chromium" if os.path.exists("/usr/bin/chromium") else None,
            args=["--no-sandbox", "--disable-gpu"],
        )
        login = browser.new_context()
        page = login.new_page()
        page.goto(base + "/accounts/login/")
        page.fill("#id_username", "reviewer")
        page.fill("#id_password", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(base + "/")
        state = login.storage_state()
        login.close()

        def visit(path, wait_for=None, full=False):
            """A first visit (new context, empty cache): seconds until drawn, and the scripts it loaded."""
            context = browser.new_context(storage_state=state, viewport={"width": 1280, "height": 900})
            if full:
                context.route(
                    "**/plotly-cartesian-*.js",
                    lambda route: route.fulfill(path=str(full_bundle), content_type="text/javascript"),
                )
            page = context.new_page()
            started = time.perf_counter()
            page.goto(base + path, wait_until="load")
            if wait_for:
                page.locator(wait_for).first.wait_for()
            elapsed = time.perf_counter() - started
            scripts = page.evaluate(SCRIPTS)
            context.close()
            return elapsed, scripts

        print(f"JavaScript per page, first visit (limit 1.5 MB transferred); {LOADS} cold loads per timing")
        print(f"  {'page':<15}{'transferred':>14}{'decoded':>14}  plotly")
        for name, path in pages.items():
            _, scripts = visit(path)
            plotly_files = [s["url"].rsplit("/", 1)[1] for s in scripts if "plotly" in s["url"]]
            print(
                f"  {name:<15}{sum(s['body'] for s in scripts):>14,}{sum(s['decoded'] for s in scripts):>14,}"
                f"  {', '.join(plotly_files) or '-'}"
            )

        def timed(path, wait_for=None, full=False):
            visit(path, wait_for, full)  # the server's first answer of that page is not what a reviewer waits for
            return [visit(path, wait_for, full)[0] for _ in range(LOADS)]

        print("Evidence page, goto until every chart is drawn (median / max of the cold loads):")
        figures = {
            "cartesian bundle, as served": timed(approval.get_absolute_url(), CHARTS_DRAWN),
            "whole plotly.js in its place (reference)": timed(approval.get_absolute_url(), CHARTS_DRAWN, full=True),
            "overview, no charts (reference)": timed("/"),
        }
        for label, times in figures.items():
            print(f"  {label:<42}{statistics.median(times):>7.3f} s{max(times):>9.3f} s")
        browser.close()


if __name__ == "__main__":
    main()
