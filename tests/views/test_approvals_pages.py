"""The approvals inbox, the evidence page with its decision form, and the downloadable report."""

import re

import pytest
from django.contrib.auth.models import Group

from pipelines_app.engine.approvals import decide
from pipelines_app.engine.deployments import deploy_version
from pipelines_app.engine.runs import start_run
from pipelines_app.models import ApprovalDecision, ApprovalRequest, Environment
from tests.conftest import make_user


@pytest.fixture
def waiting(credit_pipeline, run_inline, editor):
    """A run of the demo pipeline waiting for production's approval, with v1 serving in production."""
    first = run_inline(start_run(credit_pipeline, editor)).model_version
    deploy_version(Environment.objects.get(name="production"), first, "system")
    ApprovalRequest.objects.all().delete()
    run = run_inline(start_run(credit_pipeline, editor, {"max_iter": 500}))
    assert run.status == "waiting_approval"
    return ApprovalRequest.objects.get(run=run)


def test_the_evidence_page_shows_candidate_against_production(client_for, reviewer, waiting):
    page = client_for(reviewer).get(waiting.get_absolute_url())
    assert page.status_code == 200
    text = page.content.decode()
    assert "Candidate v2 against v1, serving in production" in text
    row = re.search(r"<th scope=\"row\">roc_auc.*?</tr>", text, re.S).group(0)
    assert re.search(r'class="delta (better|worse|same)"', row)
    for chart in ("evidence-roc", "evidence-pr", "evidence-confusion-candidate", "evidence-confusion-current"):
        assert f'id="{chart}"' in text
    assert "<code>demographic_parity_difference &lt;= 0.2</code>" in text  # the gate's fairness limit
    assert "roc_auc &gt;= production.roc_auc - 0.01" in text  # gate rule by rule
    assert "suspected leakage" in text and "share" in text
    version = waiting.model_version
    assert version.dataset_version.sha256[:16] in text and version.pipeline_version.get_absolute_url() in text
    assert "Already live in staging" in text and "No traffic has reached it there yet." in text
    assert 'name="decision" value="approve"' in text
    assert "left; if nobody decides by then, it is rejected (timed out)" in text


def test_a_first_model_has_nothing_to_compare_with(client_for, reviewer, credit_pipeline, run_inline, editor):
    run = run_inline(start_run(credit_pipeline, editor))
    text = client_for(reviewer).get(ApprovalRequest.objects.get(run=run).get_absolute_url()).content.decode()
    assert "No production model yet" in text
    assert 'id="evidence-confusion-current"' not in text


def test_the_requester_sees_why_there_is_no_button(client_for, editor, waiting):
    editor.groups.add(Group.objects.get(name="reviewers"))
    text = client_for(editor).get(waiting.get_absolute_url()).content.decode()
    assert "four-eyes" in text
    assert 'value="approve"' not in text


def test_a_viewer_is_told_who_may_decide(client_for, viewer, waiting):
    text = client_for(viewer).get(waiting.get_absolute_url()).content.decode()
    assert "production accepts decisions only from reviewers" in text and 'value="approve"' not in text


def test_approving_in_the_form_records_the_decision(client_for, reviewer, waiting):
    response = client_for(reviewer).post(
        f"/approvals/{waiting.pk}/decide/", {"decision": "approve", "comment": "metrics hold up"}, follow=True
    )
    assert response.status_code == 200
    waiting.refresh_from_db()
    assert waiting.status == "approved"
    text = response.content.decode()
    assert "request is approved" in text, text[:3000]
    assert "metrics hold up" in text and "already approved" in text


def test_rejecting_without_a_comment_is_400_and_records_nothing(client_for, reviewer, waiting):
    response = client_for(reviewer).post(f"/approvals/{waiting.pk}/decide/", {"decision": "reject", "comment": " "})
    assert response.status_code == 400
    assert "A rejection needs a comment" in response.content.decode()
    assert not ApprovalDecision.objects.exists()
    waiting.refresh_from_db()
    assert waiting.status == "pending"


@pytest.mark.parametrize("body", [{}, {"decision": "maybe"}, {"decision": "approve", "comment": "x" * 5001}])
def test_a_malformed_decision_is_400(client_for, reviewer, waiting, body):
    assert client_for(reviewer).post(f"/approvals/{waiting.pk}/decide/", body).status_code == 400
    assert not ApprovalDecision.objects.exists()


def test_a_decision_refused_by_the_rules_answers_with_its_status(client_for, editor, viewer, reviewer, waiting):
    assert client_for(viewer).post(f"/approvals/{waiting.pk}/decide/", {"decision": "approve"}).status_code == 403
    decide(waiting, reviewer, True, "")
    late = client_for(make_user("rob-reviewer", "reviewer")).post(
        f"/approvals/{waiting.pk}/decide/", {"decision": "approve"}
    )
    assert late.status_code == 409 and "already approved" in late.content.decode()


def test_deciding_needs_post(client_for, reviewer, waiting):
    assert client_for(reviewer).get(f"/approvals/{waiting.pk}/decide/").status_code == 405


def test_an_unknown_request_is_404(client_for, reviewer, db):
    assert client_for(reviewer).get("/approvals/999/").status_code == 404


def test_the_inbox_puts_what_waits_for_me_first(client_for, reviewer, editor, waiting, django_assert_max_num_queries):
    ApprovalRequest.objects.create(approver_groups=["admins"], min_approvals=1, message="Not for reviewers")
    client = client_for(reviewer)
    with django_assert_max_num_queries(20):
        text = client.get("/approvals/").content.decode()
    mine, everything = text.split('id="all-heading"')
    assert waiting.message in mine and "Not for reviewers" not in mine
    assert "Not for reviewers" in everything
    editor_text = client_for(editor).get("/approvals/").content.decode()
    assert "Nothing waits for your decision." in editor_text


def test_the_inbox_filters(client_for, viewer, waiting):
    assert waiting.message in client_for(viewer).get("/approvals/?status=pending").content.decode()
    assert "No request matches these filters." in client_for(viewer).get("/approvals/?status=rejected").content.decode()
    assert "No request matches" in client_for(viewer).get("/approvals/?model=other").content.decode()


def test_an_empty_inbox_says_where_requests_come_from(client_for, viewer, db):
    text = client_for(viewer).get("/approvals/").content.decode()
    assert "No approval requests yet." in text


def test_the_report_is_one_self_contained_html_file(client_for, reviewer, waiting):
    decide(waiting, reviewer, True, "signed off")
    response = client_for(reviewer).get(f"/approvals/{waiting.pk}/report/")
    assert response.status_code == 200
    assert "attachment" in response["Content-Disposition"] and ".html" in response["Content-Disposition"]
    html = response.content.decode()
    assert "<script src=" not in html and '<link rel="stylesheet"' not in html  # nothing to fetch
    assert "Plotly" in html and "evidence-data" in html and "signed off" in html
    assert "Candidate v2 against v1" in html


def test_each_model_version_has_its_report(client_for, viewer, waiting):
    version = waiting.model_version
    response = client_for(viewer).get(f"/models/{version.model.name}/v{version.version}/report/")
    assert response.status_code == 200
    html = response.content.decode()
    assert f"Approval request #{waiting.pk}" in html and "<script src=" not in html


def test_the_evidence_shows_the_candidate_staging_traffic(client_for, reviewer, waiting):
    from pipelines_app.models import Deployment, PredictionLog

    staging = Deployment.objects.get(environment__name="staging")
    version = waiting.model_version
    PredictionLog.objects.create(deployment=staging, model_version=version, request_id="a", rows=3, latency_ms=2.0)
    PredictionLog.objects.create(deployment=staging, model_version=version, request_id="b", status_code=400)
    text = client_for(reviewer).get(waiting.get_absolute_url()).content.decode()
    assert "2 requests (4 rows scored), 1 refused, 2.00 ms on average" in text


def test_markup_in_a_decision_comment_is_shown_as_text(client_for, reviewer, waiting):
    client_for(reviewer).post(
        f"/approvals/{waiting.pk}/decide/", {"decision": "approve", "comment": "<script>alert(1)</script> fine"}
    )
    page = client_for(reviewer).get(f"/approvals/{waiting.pk}/").content.decode()
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt; fine" in page
    report = client_for(reviewer).get(f"/approvals/{waiting.pk}/report/").content.decode()
    assert "<script>alert(1)</script>" not in report


def test_the_evidence_shows_the_cost_curve_and_approval_rates_per_group(client_for, reviewer, waiting):
    from pipelines_app.ml.metrics import cost_curve

    candidate = waiting.model_version
    curve = cost_curve(
        [True, False, True, True],
        [0.9, 0.4, 0.7, 0.3],
        false_positive=5,
        false_negative=1,
        groups={"owner": ["yes", "no", "no", "<b>x</b>"]},
    )
    candidate.evaluation = {**candidate.evaluation, "cost_curve": curve}
    candidate.save(update_fields=["evaluation"])
    html = client_for(reviewer).get(f"/approvals/{waiting.pk}/").content.decode()
    assert "Decision threshold by cost" in html and 'id="evidence-cost"' in html
    assert f"<strong>{curve['chosen']['threshold']:.4f}</strong>" in html
    assert "&lt;b&gt;x&lt;/b&gt;" in html and "<b>x</b></td>" not in html  # group names shown as text


def test_the_evidence_shows_the_reasons_by_group_as_serving_gives_them(client_for, reviewer, waiting):
    """The evaluate step averaged, per sensitive group, the contributions serving returns with ?explain on the test
    split: recomputed here row by row through the serving model, the averages agree."""
    import numpy as np

    from pipelines_app.ml import training
    from pipelines_app.serving import models_cache
    from pipelines_app.serving.reasons import typed_columns

    candidate = waiting.model_version
    by_group = candidate.evaluation["reasons_by_group"]
    owner = {g["group"]: g for g in by_group["features"]["owner"]}
    assert set(owner) == {"yes", "no"} and sum(g["rows"] for g in owner.values()) == candidate.test_rows
    frame = candidate.dataset_version.read_frame()
    X_test, _ = training.held_out(
        frame, candidate.dataset_version.schema, target="card", features=candidate.features, task=candidate.task,
        target_info=candidate.target_info, test_size=0.25, random_state=42,
    )  # fmt: skip
    loaded = models_cache.load(candidate)
    explained = loaded.explain(typed_columns(X_test, loaded.kinds), len(X_test), 1)
    owners = frame.loc[X_test.index, "owner"].to_numpy()
    for group in ("yes", "no"):
        rows = [e["contributions"] for e, o in zip(explained, owners, strict=True) if o == group]
        for column in ("income", "reports", "owner"):
            assert owner[group]["mean"][column] == pytest.approx(np.mean([r[column] for r in rows]), abs=1e-5)
        firsts = [e["reasons"][0] for e, o in zip(explained, owners, strict=True) if o == group and e["reasons"]]
        top = owner[group]["first_reasons"][0]
        assert top["share"] == pytest.approx(firsts.count(top["column"]) / len(rows), abs=1e-4)
    html = client_for(reviewer).get(f"/approvals/{waiting.pk}/").content.decode()
    assert "Reasons by group" in html and 'class="striped compact reasons-by-group"' in html
    assert f"{owner['no']['lowest_means'][0]['column']} ({owner['no']['lowest_means'][0]['mean']:.3f}" in html
