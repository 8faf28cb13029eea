"""Stored HTML injection (issue 13, attack 5): markup in every name a user controls (dataset, column, category,
pipeline, stage, step, version note, model, environment, approval message and comment, alert rule) is shown as
text on every page that shows it. In Chromium, no element is made from it (by the templates, by the page scripts
or by Plotly, which reads <b>, <i>, <br>, <a> and <span> in chart text), no dialog opens, and the name can be read
on the page, in the charts too."""

import csv
import io
import json
from datetime import timedelta
from typing import NamedTuple
from urllib.parse import quote

import pytest
from django.db.models import F
from django.test import Client

from pipelines_app.engine.approvals import decide
from pipelines_app.engine.runs import start_run
from pipelines_app.models import (
    Alert,
    AlertRule,
    ApiToken,
    ApprovalRequest,
    DatasetVersion,
    Deployment,
    Environment,
    Pipeline,
    PredictionLog,
    RegisteredModel,
    Rollup,
    RollupCursor,
)
from pipelines_app.monitoring.rollups import fold
from pipelines_app.serving import models_cache
from pipelines_app.serving.prediction_log import BUFFER_KEY, drain
from tests.conftest import DEMO_CSV
from tests.e2e.helpers import log_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

# Each name carries an element with an id starting "pwned"; a tag Plotly knows (<b>, <i>) makes it show in a chart
# as the tag's effect rather than as its text. A column name stays free of "/": it is a segment of a page's URL.
COLUMN = "<img src=x id=pwned-column onerror=alert(1)><b id=pwned-column-b>owner"
VALUE = "<i id=pwned-value>no"
DATASET = '<b id="pwned-dataset">applications</b> <img src=x onerror=alert(2)>'
PIPELINE = 'Markup <b id="pwned-pipeline">pipeline</b>'
PIPELINE_DESCRIPTION = '<a id="pwned-pipeline-description" href="https://example.com/">described</a>'
NOTE = '<b id="pwned-note">second</b> version'
STAGE = '<i id="pwned-stage">data</i>'
STEPS = {kind: f'<i id="pwned-step-{kind}">{kind}</i>' for kind in ("load", "fit", "evaluate", "gate", "approval")}
MODEL = '<b id="pwned-model">Decides credit cards</b>'
ENVIRONMENT = '<b id="pwned-environment">the staging cluster</b>'
MESSAGE = '<b id="pwned-message">Promote</b> the markup model?'
COMMENT = '<b id="pwned-comment">Looks fine</b>, <img src=x id=pwned-comment-img onerror=alert(3)>'
NOTIFY = '<b id="pwned-rule-notify">ops</b>@example.com'
MODEL_NAME = "markup-model"

PIPELINE_FILE = f"""\
version: 1
name: {json.dumps(PIPELINE)}
description: {json.dumps(PIPELINE_DESCRIPTION)}
model: {MODEL_NAME}
stages:
  - name: {json.dumps(STAGE)}
    steps:
      - {{name: {json.dumps(STEPS["load"])}, type: ingest, dataset: markup-data}}
  - name: train
    steps:
      - name: {json.dumps(STEPS["fit"])}
        type: train
        target: card
        positive_label: "yes"
        drop: [share, expenditure]
        estimator: sklearn.linear_model.LogisticRegression
        params: {{max_iter: 1000}}
        random_state: 42
      - name: {json.dumps(STEPS["evaluate"])}
        type: evaluate
        sensitive_features: [{json.dumps(COLUMN)}, selfemp]
      - name: {json.dumps(STEPS["gate"])}
        type: policy_gate
        rules: [roc_auc >= 0.6]
  - name: release
    steps:
      - {{name: deploy-staging, type: deploy, environment: staging}}
      - name: {json.dumps(STEPS["approval"])}
        type: approval
        approvers: [reviewers]
        min_approvals: 2
        timeout: 24h
        on_timeout: reject
        message: {json.dumps(MESSAGE)}
      - {{name: deploy-production, type: deploy, environment: production}}
"""


def markup_csv():
    """The demo data with the owner column renamed to COLUMN and selfemp's 'no' written as VALUE."""
    with open(DEMO_CSV, newline="") as f:
        rows = list(csv.DictReader(f))
    out = io.StringIO()
    writer = csv.DictWriter(out, [COLUMN if k == "owner" else k for k in rows[0]], lineterminator="\n")
    writer.writeheader()
    for row in rows:
        row[COLUMN] = row.pop("owner")
        row["selfemp"] = VALUE if row["selfemp"] == "no" else row["selfemp"]
        writer.writerow(row)
    return out.getvalue().encode(), rows


def send_traffic(rows, token):
    """Scoring requests to the staging deployment, logged and folded into the rollups the dashboard reads."""
    client = Client()
    numeric = ("reports", "age", "income", "dependents", "months", "majorcards", "active")
    records = [
        {k: float(v) if k in numeric else v for k, v in row.items() if k not in ("card", "share", "expenditure")}
        for row in rows
    ]
    for start in range(0, 320, 4):
        response = client.post(
            f"/serve/{MODEL_NAME}/staging/invocations",
            json.dumps({"dataframe_records": records[start : start + 4]}),
            "application/json",
            HTTP_AUTHORIZATION=f"Token {token}",
        )
        assert response.status_code == 200, response.content
    drain()
    # Half of it two hours earlier, so that the selection rate over time has two points to draw.
    ids = list(PredictionLog.objects.order_by("id").values_list("id", flat=True))
    PredictionLog.objects.filter(id__in=ids[: len(ids) // 2]).update(created_at=F("created_at") - timedelta(hours=2))
    Rollup.objects.all().delete()
    RollupCursor.objects.all().delete()
    while fold():
        pass


@pytest.fixture
def marked_up(settings, redis_url, editor, reviewer, environments, run_inline):
    """A pipeline run to its approval over a dataset, all named with markup; the model serving in staging with
    traffic, an alert rule on the markup column that fired, and a reviewer's comment on the approval."""
    import redis

    # Logs are written in the request, not by the flusher thread; the buffer holds nothing from earlier tests.
    settings.PREDICTION_LOG_BACKGROUND = False
    redis.Redis.from_url(redis_url).delete(BUFFER_KEY)
    models_cache.forget()

    data, rows = markup_csv()
    dataset = DatasetVersion.objects.create_from_upload(
        "markup-data", data, filename="markup.csv", user=editor, description=DATASET
    )
    Environment.objects.filter(name__in=["staging", "production"]).update(description=ENVIRONMENT)
    pipeline = Pipeline.objects.create_from_yaml(PIPELINE_FILE, editor)
    pipeline.save_version(PIPELINE_FILE.replace("max_iter: 1000", "max_iter: 900"), editor, note=NOTE)
    run = run_inline(start_run(pipeline, editor))
    assert run.status == "waiting_approval", run.error
    RegisteredModel.objects.filter(name=MODEL_NAME).update(description=MODEL)
    approval = ApprovalRequest.objects.get(run=run)
    assert decide(approval, reviewer, True, COMMENT) == "pending"  # the file asks for two approvals

    send_traffic(rows, ApiToken.objects.issue(editor)[1])
    deployment = Deployment.objects.get(environment__name="staging", model__name=MODEL_NAME)
    rule = AlertRule.objects.create(
        deployment=deployment, metric=AlertRule.Metric.FEATURE_PSI, feature=COLUMN, threshold=0, notify=[NOTIFY]
    )
    Alert.objects.create(rule=rule, value=0.3, message=f"{rule} (now 0.3)")
    yield {"dataset": dataset, "pipeline": pipeline, "run": run, "approval": approval, "model": run.model_version}
    models_cache.forget()


class Page(NamedTuple):
    url: str
    shows: tuple = ()  # names the page must show as text
    ready: str = "main"  # there once the page's scripts have drawn
    charts_show: tuple = ()  # names a chart on the page must show as text


def pages(d):
    feature = f"/monitoring/{MODEL_NAME}/staging/features/"
    pipeline = d["pipeline"].get_absolute_url()
    steps = tuple(STEPS.values())
    return [
        Page("/"),
        Page("/datasets/", (DATASET,)),
        Page(
            d["dataset"].dataset.get_absolute_url(),
            (DATASET, COLUMN, VALUE, PIPELINE),
            ".mini-chart .main-svg",
            (VALUE,),
        ),
        Page("/pipelines/", (PIPELINE,)),
        Page(pipeline, (PIPELINE, PIPELINE_DESCRIPTION, STAGE, NOTE, *steps)),
        Page("/pipelines/new/wizard/?dataset=markup-data", (COLUMN,), "#wizard"),
        Page(pipeline + "edit/", (STAGE, *steps), "#graph-preview .stage-graph"),
        Page(pipeline + "diff/?a=1&b=2", (PIPELINE,), "table.diff"),
        Page("/runs/", (PIPELINE,)),
        Page(d["run"].get_absolute_url(), (PIPELINE, STAGE, *steps), "#timeline .main-svg", steps),
        Page("/models/"),
        Page(f"/models/{MODEL_NAME}/", (MODEL,)),
        Page(d["model"].get_absolute_url(), (COLUMN,), "#importance-chart .main-svg", (COLUMN,)),
        Page("/approvals/", (MESSAGE,)),
        Page(
            d["approval"].get_absolute_url(),
            (MESSAGE, COMMENT, COLUMN, VALUE),
            "#evidence-importance .main-svg",
            (COLUMN,),
        ),
        Page("/deployments/"),
        Page("/deployments/environments/", (ENVIRONMENT,)),
        Page(f"/deployments/staging/{MODEL_NAME}/", ready="#deployment-timeline .main-svg"),
        Page("/monitoring/"),
        Page(
            f"/monitoring/{MODEL_NAME}/staging/",
            (COLUMN, NOTIFY),
            "#fairness-charts .main-svg",
            (COLUMN, f"Selection rate by {COLUMN}", VALUE),
        ),
        Page(feature + "selfemp/", ready="#feature-distribution .main-svg", charts_show=(VALUE,)),
        Page(feature + quote(COLUMN, safe="") + "/", (COLUMN,), "#feature-distribution .main-svg"),
        Page("/monitoring/alerts/", (COLUMN,)),
        Page("/audit/", (PIPELINE,)),
    ]


FOUND = """() => {
  const made = document.querySelector('[id^=pwned]');
  const charts = Array.from(document.querySelectorAll('.js-plotly-plot .main-svg text')).map(t => t.textContent);
  return {made: made && made.outerHTML, text: document.body.innerText, charts: charts.join('\\n')};
}"""


def inspect(page, url, expected):
    """What is wrong with the page at url, as a list of sentences (empty when nothing is)."""
    problems = []
    page.goto(url)
    page.wait_for_load_state("networkidle")
    page.locator(expected.ready).first.wait_for()
    found = page.evaluate(FOUND)
    if found["made"]:
        problems.append(f"an element was made from a name: {found['made']}")
    problems += [f"{name!r} is not shown as text" for name in expected.shows if name not in found["text"]]
    problems += [f"{name!r} is not in a chart as text" for name in expected.charts_show if name not in found["charts"]]
    return problems


def test_markup_in_names_is_shown_as_text_on_every_page(browser, live_server, admin_user, marked_up, tmp_path):
    page = log_in(browser, live_server.url, admin_user)
    events = []
    page.on("dialog", lambda dialog: (events.append(f"dialog: {dialog.message}"), dialog.dismiss()))
    page.on("pageerror", lambda error: events.append(f"script error: {error}"))
    problems = {}
    for expected in pages(marked_up):
        events.clear()
        found = inspect(page, live_server.url + expected.url, expected) + events
        if found:
            problems[expected.url] = found

    # The downloadable evidence report inlines its scripts and opens offline, without the site's CSP.
    report = Client()
    report.force_login(admin_user)
    path = tmp_path / "report.html"
    path.write_bytes(report.get(marked_up["approval"].get_absolute_url() + "report/").content)
    events.clear()
    found = inspect(page, path.as_uri(), Page("", (COMMENT, COLUMN), "#evidence-importance .main-svg", (COLUMN,)))
    if found + events:
        problems["the evidence report"] = found + events
    page.context.close()
    assert not problems, "\n".join(f"{url}: {'; '.join(found)}" for url, found in problems.items())
