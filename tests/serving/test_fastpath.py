"""The compiled numpy scorer equals scikit-learn on random valid inputs, missing values and unseen categories
included, for the estimators the wizard offers; anything it cannot reproduce falls back to scikit-learn."""

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipelines_app.ml import training
from pipelines_app.ml.datasets import apply_schema, infer_schema, read_csv_checked
from pipelines_app.serving import fastpath
from pipelines_app.serving.payloads import Rows, type_columns
from tests.conftest import DEMO_CSV

ESTIMATORS = [
    "sklearn.linear_model.LogisticRegression",
    "sklearn.ensemble.HistGradientBoostingClassifier",
    "sklearn.ensemble.RandomForestClassifier",
]


@pytest.fixture(scope="module")
def frame():
    return read_csv_checked(DEMO_CSV.read_bytes(), max_bytes=10**8)


def trained(frame, estimator, params=None):
    schema = infer_schema(frame)
    return training.train_model(
        frame,
        schema,
        target="card",
        estimator_path=estimator,
        params=params or {},
        drop=["share", "expenditure"],
        random_state=3,
        positive_label="yes",
    )


@pytest.fixture(scope="module", params=ESTIMATORS)
def model(request, frame):
    params = {"n_estimators": 20} if "RandomForest" in request.param else {}
    result = trained(frame, request.param, params)
    kinds = {e["name"]: e["kind"] for e in result.feature_schema}
    fast = fastpath.compile_scorer(result.pipeline)
    assert fast is not None, f"{request.param} should compile"
    return result, kinds, fast


def test_the_check_at_load_time_passes_on_the_training_ranges(model):
    result, kinds, fast = model
    sample = fastpath.sample_rows(result.feature_schema, n=300, seed=1)
    assert fastpath.verify(fast, result.pipeline, kinds, sample, 300) == ""


def test_typed_rows_match_what_training_does_to_a_csv(frame, model):
    result, kinds, _ = model
    rows = frame[list(kinds)].head(50).astype(object).where(frame[list(kinds)].head(50).notna(), None)
    typed, n = type_columns(Rows(records=rows.to_dict("records")), result.feature_schema)
    expected = apply_schema(frame[list(kinds)].head(50), kinds)
    for name in kinds:
        got = pd.Series(typed[name], dtype="float64" if kinds[name] == "numeric" else "str")
        pd.testing.assert_series_equal(got, expected[name].reset_index(drop=True), check_names=False)


row_values = st.fixed_dictionaries(
    {
        "reports": st.one_of(st.none(), st.integers(-3, 20), st.floats(-1e6, 1e6, allow_nan=False)),
        "age": st.one_of(st.none(), st.floats(0, 120)),
        "income": st.one_of(st.none(), st.floats(-5, 50, allow_nan=False)),
        "owner": st.one_of(st.none(), st.sampled_from(["yes", "no", "maybe", ""]), st.text(max_size=5)),
        "selfemp": st.one_of(st.none(), st.sampled_from(["yes", "no"]), st.integers(0, 3)),
        "dependents": st.one_of(st.none(), st.integers(0, 10)),
        "months": st.one_of(st.none(), st.integers(0, 600)),
        "majorcards": st.one_of(st.none(), st.integers(0, 3)),
        "active": st.one_of(st.none(), st.integers(0, 50)),
    }
)


@settings(max_examples=60, deadline=None)
@given(records=st.lists(row_values, min_size=1, max_size=20))
def test_fast_and_sklearn_agree_on_random_rows(model, records):
    result, kinds, fast = model
    typed, n = type_columns(Rows(records=records), result.feature_schema)
    slow = fastpath.SklearnScorer(result.pipeline, kinds)
    assert np.allclose(fast.predict_proba(typed, n), slow.predict_proba(typed, n), rtol=0, atol=1e-9)


def test_an_unknown_preprocessing_step_is_not_compiled(frame):
    from sklearn.preprocessing import MinMaxScaler

    result = trained(frame, "sklearn.linear_model.LogisticRegression")
    numeric = result.pipeline.named_steps["preprocess"].named_transformers_["numeric"]
    numeric.steps[1] = ("scale", MinMaxScaler().fit(np.zeros((2, len(numeric.steps[1][1].mean_)))))
    assert fastpath.compile_scorer(result.pipeline) is None
