"""Reason codes (``?explain=K``, DESIGN §7): for the logistic-regression demo, ``base + sum(contributions)`` is the
logit of the returned probability, on random rows with missing values and unseen categories; reasons are the
columns that pushed toward the negative label, largest first."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipelines_app.ml.datasets import read_csv_checked
from pipelines_app.models import ApiToken
from pipelines_app.serving import fastpath
from pipelines_app.serving.models_cache import LoadedModel, _reference
from pipelines_app.serving.payloads import Rows, type_columns
from tests.conftest import DEMO_CSV
from tests.serving.conftest import RECORD
from tests.serving.test_fastpath import row_values, trained

URL = "/serve/credit-card-approval/staging/invocations"


def loaded_model(estimator, params=None):
    """A model trained on the demo data as serving loads it (fast path, reference applicant)."""
    frame = read_csv_checked(DEMO_CSV.read_bytes(), max_bytes=10**8)
    result = trained(frame, estimator, params)
    kinds = {e["name"]: e["kind"] for e in result.feature_schema}
    fast = fastpath.compile_scorer(result.pipeline)
    classes = [str(c) for c in result.pipeline.classes_]

    class Version:  # what _reference reads of a ModelVersion row
        reference_profile = result.reference_profile

    loaded = LoadedModel(
        version_id=1,
        version=1,
        sha256="",
        task="classification",
        features=list(kinds),
        feature_schema=result.feature_schema,
        kinds=kinds,
        classes=classes,
        positive_index=classes.index("yes"),
        scorer=fast,
        fast_problem="",
        reference=_reference(fast, Version),
    )
    return result, loaded


@pytest.fixture(scope="module")
def demo():
    return loaded_model("sklearn.linear_model.LogisticRegression")


# Tree ensembles: SHAP's tree explainer (log-odds for boosting; a forest's probabilities put in log-odds).
TREES = [
    ("sklearn.ensemble.HistGradientBoostingClassifier", {"max_iter": 50}),
    ("sklearn.ensemble.GradientBoostingClassifier", {"n_estimators": 50}),
    ("sklearn.ensemble.RandomForestClassifier", {"n_estimators": 30, "random_state": 0}),
]


@pytest.fixture(scope="module", params=TREES, ids=lambda p: p[0].rsplit(".", 1)[1])
def tree_model(request):
    return loaded_model(*request.param)


def assert_additive(loaded, feature_schema, records):
    """``base + sum(contributions)`` is the logit of each row's probability (where it is finite), and every reason
    pushed toward the negative label."""
    typed, n = type_columns(Rows(records=records), feature_schema)
    _, probabilities = loaded.score(typed, n)
    explanations = loaded.explain(typed, n, 3)
    for probability, explanation in zip(probabilities, explanations, strict=True):
        total = explanation["base"] + sum(explanation["contributions"].values())
        if 1e-9 < probability < 1 - 1e-9:
            assert math.isclose(total, math.log(probability / (1 - probability)), rel_tol=0, abs_tol=1e-6)
        assert all(explanation["contributions"][name] < 0 for name in explanation["reasons"])


@settings(max_examples=30, deadline=None)
@given(records=st.lists(row_values, min_size=1, max_size=20))
def test_a_tree_models_contributions_add_up_to_its_log_odds(tree_model, records):
    result, loaded = tree_model
    assert loaded.scoring_path == "fast"
    assert_additive(loaded, result.feature_schema, records)


# Any other binary classifier: baseline Shapley values against the reference applicant.
OTHERS = [
    ("sklearn.naive_bayes.GaussianNB", {}),
    (
        "sklearn.neural_network.MLPClassifier",
        {"hidden_layer_sizes": [8], "solver": "lbfgs", "max_iter": 300, "random_state": 0},
    ),
]


@pytest.fixture(scope="module", params=OTHERS, ids=lambda p: p[0].rsplit(".", 1)[1])
def other_model(request):
    return loaded_model(*request.param)


@settings(max_examples=15, deadline=None)
@given(records=st.lists(row_values, min_size=1, max_size=5))
def test_any_other_models_contributions_add_up_to_its_log_odds(other_model, records):
    result, loaded = other_model
    assert_additive(loaded, result.feature_schema, records)


def test_baseline_shapley_values_of_a_linear_model_are_its_exact_contributions(demo):
    """For a logistic regression the game is additive: each column's Shapley value is its own term."""
    from pipelines_app.serving.shapley import BaselineShapley

    result, loaded = demo
    scorer = loaded.scorer
    typed, n = type_columns(Rows(records=[RECORD, {**RECORD, "reports": 5, "owner": "no"}]), result.feature_schema)
    names, groups = scorer.column_groups
    base, values = BaselineShapley(scorer.estimator, groups)(scorer.encode(typed, n), loaded.reference)
    exact = loaded.explain(typed, n, 3)
    for row, explanation in enumerate(exact):
        assert base == pytest.approx(explanation["base"], abs=1e-9)
        for j, name in enumerate(names):
            assert values[row, j] == pytest.approx(explanation["contributions"][name], abs=1e-9)


def test_too_many_rows_for_a_model_explained_by_evaluations_is_not_explained(other_model):
    from pipelines_app.serving.shapley import MAX_ROWS

    result, loaded = other_model
    typed, n = type_columns(Rows(records=[RECORD] * (MAX_ROWS + 1)), result.feature_schema)
    assert loaded.explain(typed, n, 3) is None


@settings(max_examples=80, deadline=None)
@given(records=st.lists(row_values, min_size=1, max_size=20), k=st.integers(1, 9))
def test_base_plus_contributions_is_the_logit_of_the_probability(demo, records, k):
    result, loaded = demo
    typed, n = type_columns(Rows(records=records), result.feature_schema)
    _, probabilities = loaded.score(typed, n)
    explanations = loaded.explain(typed, n, k)
    assert len(explanations) == n
    for probability, explanation in zip(probabilities, explanations, strict=True):
        assert set(explanation["contributions"]) == set(loaded.features)
        total = explanation["base"] + sum(explanation["contributions"].values())
        if 1e-12 < probability < 1 - 1e-12:  # the logit of a probability rounded to 0 or 1 is infinite
            assert math.isclose(total, math.log(probability / (1 - probability)), rel_tol=0, abs_tol=1e-6)
        negative = sorted((value, name) for name, value in explanation["contributions"].items() if value < 0)
        assert explanation["reasons"] == [name for _, name in negative[:k]]


def test_the_reference_applicant_sits_near_the_average_score(demo):
    result, loaded = demo
    base = loaded.explain(*type_columns(Rows(records=[RECORD]), result.feature_schema), 3)[0]["base"]
    share_yes = (
        result.reference_profile["columns_profile"]["card"]["frequencies"]["yes"] / result.reference_profile["rows"]
    )
    # The log-odds of an average applicant is not the log-odds of the average rate, but it is on its side.
    assert np.sign(base) == np.sign(math.log(share_yes / (1 - share_yes)))


@pytest.fixture
def token(editor):
    return ApiToken.objects.issue(editor)[1]


def test_explain_adds_explanations_to_the_answer(client, deployed, token):
    declined = {**RECORD, "reports": 8, "income": 1.2, "majorcards": 0, "active": 0}
    response = client.post(
        f"{URL}?explain=3",
        {"dataframe_records": [RECORD, declined]},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Token {token}",
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert len(body["explanations"]) == 2
    for probability, explanation in zip(body["probabilities"], body["explanations"], strict=True):
        total = explanation["base"] + sum(explanation["contributions"].values())
        assert math.isclose(total, math.log(probability / (1 - probability)), abs_tol=1e-6)
        assert len(explanation["reasons"]) <= 3
    assert "reports" in body["explanations"][1]["reasons"]  # eight derogatory reports weigh against a card
    plain = client.post(
        URL, {"dataframe_records": [RECORD]}, content_type="application/json", HTTP_AUTHORIZATION=f"Token {token}"
    )
    assert "explanations" not in plain.json()


@pytest.mark.parametrize("value", ["0", "-1", "21", "two", "1.5", ""])
def test_a_bad_explain_value_is_a_400_naming_it(client, deployed, token, value):
    response = client.post(
        f"{URL}?explain={value}",
        {"dataframe_records": [RECORD]},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Token {token}",
    )
    assert response.status_code == 400
    assert response.json()["error_code"] == "INVALID_PARAMETER_VALUE"
    assert "explain" in response.json()["message"]


def test_a_model_that_cannot_be_explained_says_so_with_a_400(client, deployed, token):
    from pipelines_app.serving import models_cache

    loaded = models_cache.load(deployed)
    loaded.reference = None  # as for a model scored by scikit-learn (no exact contributions yet)
    try:
        response = client.post(
            f"{URL}?explain=2",
            {"dataframe_records": [RECORD]},
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Token {token}",
        )
    finally:
        models_cache.forget()
    assert response.status_code == 400
    assert response.json()["error_code"] == "INVALID_PARAMETER_VALUE"
    assert "cannot be explained" in response.json()["message"]
