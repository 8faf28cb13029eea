"""train_model and its parts: tasks and labels, the preprocessing pipeline, progress, params and estimator paths."""

import json

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.ensemble import (
    GradientBoostingClassifier,
    HistGradientBoostingClassifier,
    HistGradientBoostingRegressor,
    RandomForestClassifier,
    RandomForestRegressor,
)
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score

from pipelines_app.ml.datasets import apply_schema, infer_schema, read_csv_checked
from pipelines_app.ml.training import (
    build_pipeline,
    coerce_params,
    fit_with_progress,
    held_out,
    import_estimator,
    infer_task,
    prepare_target,
    split,
    train_model,
)

HGB = "sklearn.ensemble.HistGradientBoostingClassifier"
LOGISTIC = "sklearn.linear_model.LogisticRegression"
LEAKS = ["share", "expenditure"]


@pytest.fixture(scope="module")
def demo(demo_csv_bytes):
    frame = read_csv_checked(demo_csv_bytes, max_bytes=len(demo_csv_bytes))
    return frame, infer_schema(frame)


def train_demo(demo, **options):
    frame, schema = demo
    settings = {"target": "card", "positive_label": "yes", "params": {}} | options
    return train_model(frame, schema, **settings)


def auc_of(result):
    scores = result.pipeline.predict_proba(result.X_test)[:, list(result.pipeline.classes_).index("yes")]
    return roc_auc_score(result.y_test == "yes", scores)


def messy_frame(rows=200, seed=0):
    """Numbers and categories with gaps, a column that is entirely missing, and a text target."""
    rng = np.random.default_rng(seed)
    income = rng.normal(50, 10, rows)
    city = rng.choice(["north", "south", "east"], rows)
    frame = pd.DataFrame(
        {
            "income": income,
            "city": city,
            "blank_number": np.nan,
            "blank_text": pd.Series([None] * rows, dtype="str"),
            "label": np.where(income + (city == "north") * 8 + rng.normal(0, 4, rows) > 53, "good", "bad"),
        }
    )
    frame.loc[::7, "income"] = np.nan
    frame.loc[::5, "city"] = np.nan
    schema = {"income": "numeric", "city": "categorical", "blank_number": "numeric", "blank_text": "categorical"}
    return frame, schema


# The demo model ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("estimator", "params"), [(HGB, {"max_iter": 30}), (LOGISTIC, {"max_iter": 1000})], ids=["hgb", "logistic"]
)
def test_the_demo_model_without_the_leaking_columns_scores_a_plausible_auc(demo, estimator, params):
    result = train_demo(demo, estimator_path=estimator, params=params, drop=LEAKS)
    assert "share" not in result.features and "expenditure" not in result.features
    assert 0.75 <= auc_of(result) <= 0.95


def test_the_demo_model_with_a_leaking_column_scores_almost_perfectly(demo):
    result = train_demo(demo, estimator_path=HGB, params={"max_iter": 30}, drop=["expenditure"])
    assert auc_of(result) > 0.97


def test_the_demo_result_records_what_the_registry_needs(demo):
    result = train_demo(demo, estimator_path=HGB, params={"max_iter": "20", "learning_rate": "0.2"}, drop=LEAKS)
    frame, _ = demo
    assert result.task == "classification"
    assert result.target_info == {"classes": ["no", "yes"], "positive_label": "yes", "dropped_missing_target": 0}
    assert result.features == [c for c in frame.columns if c not in ["card", *LEAKS]]
    assert result.estimator == HGB
    assert result.params["max_iter"] == 20 and result.params["learning_rate"] == 0.2
    assert result.params["random_state"] == 42, "the step's seed also seeds the estimator"
    assert result.train_rows + result.test_rows == 1319 == len(result.X_train) + len(result.X_test)
    assert result.test_rows == 330
    assert set(result.library_versions) == {"python", "sklearn", "numpy", "pandas", "scipy", "skops"}
    kinds = {entry["name"]: entry for entry in result.feature_schema}
    assert kinds["owner"]["kind"] == "categorical" and sorted(kinds["owner"]["categories"]) == ["no", "yes"]
    assert kinds["age"]["kind"] == "numeric" and kinds["age"]["min"] == result.X_train["age"].min()
    assert set(result.reference_profile["columns_profile"]) == {*result.features, "card"}
    assert result.reference_profile["rows"] == result.train_rows
    json.dumps([result.params, result.feature_schema, result.reference_profile, result.target_info], allow_nan=False)


def test_the_split_is_stratified_and_held_out_finds_it_again(demo):
    frame, schema = demo
    result = train_demo(demo, estimator_path=LOGISTIC, params={"max_iter": 500}, drop=LEAKS, random_state=7)
    assert result.y_test.eq("yes").mean() == pytest.approx(frame["card"].eq("yes").mean(), abs=0.01)
    X_test, y_test = held_out(
        frame,
        schema,
        target="card",
        features=result.features,
        task=result.task,
        target_info=result.target_info,
        test_size=0.25,
        random_state=7,
    )
    pd.testing.assert_frame_equal(X_test, result.X_test)
    pd.testing.assert_series_equal(y_test, result.y_test)
    assert list(frame.loc[X_test.index, "card"]) == list(y_test)


# Tasks and labels -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("values", "task"),
    [
        (["yes", "no", "yes"], "classification"),
        ([True, False, True], "classification"),
        ([0.0, 1.0, 1.0, np.nan], "classification"),
        ([1, 2, 3, 4, 5], "classification"),
        ([0.5, 1.25, 3.0], "regression"),
        (list(range(25)), "regression"),
    ],
)
def test_the_task_is_inferred_from_the_target(values, task):
    assert infer_task(pd.Series(values, name="y")) == task


def test_a_declared_task_wins_but_text_cannot_be_regressed():
    assert infer_task(pd.Series([1, 2, 3]), "regression") == "regression"
    assert infer_task(pd.Series([0.5, 1.5]), "classification") == "classification"
    with pytest.raises(ValueError, match="holds text"):
        infer_task(pd.Series(["a", "b"], name="y"), "regression")
    with pytest.raises(ValueError, match="unknown"):
        infer_task(pd.Series([1, 2]), "clustering")


def test_the_positive_label_defaults_to_the_label_that_sorts_last():
    labels, info = prepare_target(pd.Series(["no", "yes", "no"], name="card"), "classification")
    assert info["classes"] == ["no", "yes"] and info["positive_label"] == "yes"
    _, info = prepare_target(pd.Series([10.0, 9.0, 10.0], name="code"), "classification")
    assert info["classes"] == ["9", "10"] and info["positive_label"] == "10", "numbers sort as numbers"
    _, info = prepare_target(pd.Series(["yes", "no"]), "classification", positive_label="no")
    assert info["classes"] == ["yes", "no"] and info["positive_label"] == "no"


def test_numeric_labels_become_text_and_a_numeric_positive_label_matches_them():
    labels, info = prepare_target(pd.Series([0.0, 1.0, 1.0], name="flag"), "classification", positive_label=1)
    assert list(labels) == ["0", "1", "1"]
    assert info["positive_label"] == "1"


def test_a_positive_label_the_target_lacks_is_refused_naming_the_labels():
    with pytest.raises(ValueError, match="'maybe' does not occur in the target 'card'.*'no' and 'yes'"):
        prepare_target(pd.Series(["yes", "no"], name="card"), "classification", positive_label="maybe")


def test_rows_with_a_missing_target_are_dropped_and_counted():
    frame, schema = messy_frame()
    frame.loc[[3, 4, 5], "label"] = np.nan
    result = train_model(frame, schema, target="label", estimator_path=LOGISTIC, params={})
    assert result.target_info["dropped_missing_target"] == 3
    assert result.train_rows + result.test_rows == len(frame) - 3


def test_a_single_label_target_is_refused():
    with pytest.raises(ValueError, match="only one label"):
        prepare_target(pd.Series(["yes", "yes"], name="card"), "classification")


def test_a_regressor_on_a_whole_number_target_regresses(demo):
    frame, schema = demo
    result = train_model(
        frame, schema, target="dependents", estimator_path="sklearn.linear_model.Ridge", params={}, drop=LEAKS
    )
    assert result.task == "regression"
    assert result.target_info["classes"] is None


def test_a_classifier_on_a_continuous_target_is_refused(demo):
    frame, schema = demo
    with pytest.raises(ValueError, match="classifier, but the target 'income' holds continuous numbers"):
        train_model(frame, schema, target="income", estimator_path=LOGISTIC, params={})


# Any table --------------------------------------------------------------------------------------------------


def test_gaps_empty_columns_and_unseen_categories_train_and_predict():
    frame, schema = messy_frame()
    result = train_model(frame, schema, target="label", estimator_path=HGB, params={"max_iter": 10})
    assert result.features == ["income", "city", "blank_number", "blank_text"]
    later = pd.DataFrame(
        {"income": [np.nan, 60.0], "city": ["west", np.nan], "blank_number": [1.0, np.nan], "blank_text": ["a", None]}
    )
    later = apply_schema(later, schema)
    assert set(result.pipeline.predict(later)) <= {"good", "bad"}
    assert result.pipeline.predict_proba(later).shape == (2, 2)


def test_a_table_of_only_empty_feature_columns_still_trains():
    frame, schema = messy_frame()
    result = train_model(
        frame, schema, target="label", estimator_path=LOGISTIC, params={}, features=["blank_number", "blank_text"]
    )
    assert len(result.pipeline.predict(result.X_test)) == result.test_rows


def test_a_multi_class_target_trains_and_predicts(demo):
    frame, schema = demo
    frame = frame.assign(band=pd.cut(frame["income"], [0, 2.5, 4, 100], labels=["low", "mid", "high"]).astype(str))
    result = train_model(
        frame,
        {**schema, "band": "categorical"},
        target="band",
        estimator_path=HGB,
        params={"max_iter": 10},
        drop=["income", "share"],
    )
    assert result.target_info["classes"] == ["high", "low", "mid"]
    assert result.target_info["positive_label"] is None
    assert set(result.pipeline.predict(result.X_test)) <= {"low", "mid", "high"}
    assert result.pipeline.predict_proba(result.X_test).shape == (result.test_rows, 3)


def test_a_text_target_with_other_column_names_and_a_regression_target_train():
    frame, schema = messy_frame()
    renamed = frame.rename(columns={"label": "Outcome (final)", "income": "Income $"})
    schema = {("Income $" if k == "income" else k): v for k, v in schema.items()}
    result = train_model(renamed, schema, target="Outcome (final)", estimator_path=LOGISTIC, params={"C": "0.5"})
    assert result.target_info["classes"] == ["bad", "good"]
    regression = train_model(renamed, schema, target="Income $", estimator_path="sklearn.linear_model.Ridge", params={})
    assert regression.task == "regression"
    assert regression.target_info["dropped_missing_target"] == renamed["Income $"].isna().sum()


def test_a_class_with_a_single_row_falls_back_to_a_plain_split():
    X = pd.DataFrame({"x": range(20)})
    y = pd.Series(["a"] * 10 + ["b"] * 9 + ["c"])
    X_train, X_test, y_train, y_test = split(X, y, "classification", 0.25, 0)
    assert len(X_train) == 15 and len(X_test) == 5


def test_unknown_columns_and_a_missing_target_are_refused_plainly(demo):
    frame, schema = demo
    with pytest.raises(ValueError, match="no column 'salary'"):
        train_model(frame, schema, target="card", estimator_path=LOGISTIC, params={}, drop=["salary"])
    with pytest.raises(ValueError, match="target 'approved' is not a column"):
        train_model(frame, schema, target="approved", estimator_path=LOGISTIC, params={})


# Progress ---------------------------------------------------------------------------------------------------


def progress_and_twin(estimator, X, y):
    """Fit the estimator with progress and a clone plainly; return the percentages and both pipelines."""
    schema = {"income": "numeric", "city": "categorical", "blank_number": "numeric", "blank_text": "categorical"}
    features = list(schema)
    reported = []
    incremental = build_pipeline(schema, features, type(estimator), estimator.get_params())
    fit_with_progress(incremental, X, y, reported.append)
    plain = build_pipeline(schema, features, type(estimator), clone(estimator).get_params()).fit(X, y)
    return reported, incremental, plain


@pytest.mark.parametrize(
    ("estimator", "least_reports"),
    [
        (RandomForestClassifier(n_estimators=25, random_state=1), 11),
        (GradientBoostingClassifier(n_estimators=23, subsample=0.8, random_state=1), 11),
        (HistGradientBoostingClassifier(max_iter=40, random_state=1), 11),
        # Early stopping may end the fit in any increment; the model must still be the plain fit's.
        (HistGradientBoostingClassifier(max_iter=300, early_stopping=True, n_iter_no_change=2, random_state=1), 2),
    ],
    ids=["forest", "boosting", "hist-boosting", "hist-boosting-early-stopping"],
)
def test_ensembles_report_rising_progress_and_predict_as_a_plain_fit(estimator, least_reports):
    frame, _ = messy_frame(rows=300)
    X, y = frame.drop(columns="label"), frame["label"]
    reported, incremental, plain = progress_and_twin(estimator, X, y)
    assert reported[0] == 0 and reported[-1] == 100
    assert all(a < b for a, b in zip(reported, reported[1:], strict=False))
    assert len(reported) >= least_reports
    np.testing.assert_array_equal(incremental.predict_proba(X), plain.predict_proba(X))
    assert incremental[-1].get_params() == plain[-1].get_params()


def test_a_regressor_forest_reports_progress_too():
    frame, _ = messy_frame(rows=120)
    X, y = frame.drop(columns=["label", "income"]), frame["income"].fillna(0)
    schema = {"city": "categorical", "blank_number": "numeric", "blank_text": "categorical"}
    for estimator_cls, params in (
        (RandomForestRegressor, {"n_estimators": 5}),
        (HistGradientBoostingRegressor, {"max_iter": 20}),
    ):
        reported = []
        pipeline = build_pipeline(schema, list(schema), estimator_cls, {**params, "random_state": 0})
        fit_with_progress(pipeline, X, y, reported.append)
        plain = build_pipeline(schema, list(schema), estimator_cls, {**params, "random_state": 0}).fit(X, y)
        assert reported[-1] == 100 and reported == sorted(reported)
        np.testing.assert_array_equal(pipeline.predict(X), plain.predict(X))


def test_other_estimators_report_the_start_and_the_end():
    frame, schema = messy_frame()
    reported = []
    pipeline = build_pipeline(schema, list(schema), LogisticRegression, {})
    fit_with_progress(pipeline, frame.drop(columns="label"), frame["label"], reported.append)
    assert reported == [0, 100]


# Params and estimators --------------------------------------------------------------------------------------


def test_params_given_as_text_are_coerced_by_the_defaults_type():
    params = coerce_params(
        RandomForestClassifier,
        {
            "n_estimators": "200",
            "max_depth": "5",
            "min_samples_split": "0.1",
            "bootstrap": "false",
            "max_features": 0.5,
        },
    )
    assert params == {
        "n_estimators": 200,
        "max_depth": 5,
        "min_samples_split": 0.1,
        "bootstrap": False,
        "max_features": 0.5,
    }
    assert coerce_params(HistGradientBoostingClassifier, {"max_iter": 200.0, "learning_rate": "1"}) == {
        "max_iter": 200,
        "learning_rate": 1.0,
    }
    assert coerce_params(RandomForestClassifier, {"max_depth": "None", "criterion": "entropy"}) == {
        "max_depth": None,
        "criterion": "entropy",
    }
    assert isinstance(coerce_params(LogisticRegression, {"C": "1"})["C"], float)


def test_unknown_params_are_refused_by_name():
    with pytest.raises(ValueError, match="no parameters 'depth' and 'trees'"):
        coerce_params(RandomForestClassifier, {"trees": 10, "depth": 3})


def test_a_bad_boolean_param_is_refused():
    with pytest.raises(ValueError, match="'bootstrap' is true or false"):
        coerce_params(RandomForestClassifier, {"bootstrap": "sometimes"})


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("os.system", "not a scikit-learn class"),
        ("builtins.eval", "not a scikit-learn class"),
        ("sklearn.ensemble.NoSuchForest", "has no estimator 'NoSuchForest'"),
        ("sklearn.nosuchmodule.Thing", "no estimator module"),
        ("sklearn.base.clone", "no estimator module 'sklearn.base'"),
        ("sklearn.utils._testing.MinimalClassifier", "not written as 'sklearn.<module>.<Class>'"),
        ("sklearn.experimental.enable_halving_search_cv.HalvingGridSearchCV", "not written as"),
        ("sklearn.preprocessing.StandardScaler", "does not predict"),
    ],
)
def test_estimator_paths_outside_scikit_learns_predictors_are_refused(path, message):
    with pytest.raises(ValueError, match=message):
        import_estimator(path)


def test_an_estimator_path_names_the_class():
    assert import_estimator(HGB) is HistGradientBoostingClassifier


def test_an_estimator_that_is_neither_classifier_nor_regressor_is_refused(demo):
    frame, schema = demo
    with pytest.raises(ValueError, match="neither a classifier nor a regressor"):
        train_model(frame, schema, target="card", estimator_path="sklearn.cluster.KMeans", params={})


def test_an_estimator_whose_model_cannot_be_loaded_safely_is_refused_at_training(demo):
    frame, schema = demo
    with pytest.raises(ValueError, match="cannot be loaded safely"):
        train_model(frame, schema, target="card", estimator_path="sklearn.neighbors.KNeighborsClassifier", params={})


def test_a_declared_task_that_contradicts_the_estimator_is_refused(demo):
    frame, schema = demo
    with pytest.raises(ValueError, match="LogisticRegression is a classifier, but the task is regression"):
        train_model(frame, schema, target="card", estimator_path=LOGISTIC, params={}, task="regression")
