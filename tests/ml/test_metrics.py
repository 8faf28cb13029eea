"""Metrics that agree with scikit-learn, JSON-safe curves, importance on the original columns, fairness, leakage."""

import json

import numpy as np
import pandas as pd
import pytest
from sklearn import metrics as sk

from pipelines_app.ml.datasets import infer_schema, read_csv_checked
from pipelines_app.ml.metrics import (
    classification_metrics,
    evaluate_model,
    fairness_report,
    leakage_scan,
    permutation_importance_report,
    regression_metrics,
)
from pipelines_app.ml.training import train_model

LEAKS = ["share", "expenditure"]


@pytest.fixture(scope="module")
def demo(demo_csv_bytes):
    frame = read_csv_checked(demo_csv_bytes, max_bytes=len(demo_csv_bytes))
    return frame, infer_schema(frame)


@pytest.fixture(scope="module")
def card_model(demo):
    frame, schema = demo
    return train_model(
        frame,
        schema,
        target="card",
        positive_label="yes",
        estimator_path="sklearn.ensemble.HistGradientBoostingClassifier",
        params={"max_iter": 30},
        drop=LEAKS,
    )


@pytest.fixture(scope="module")
def card_report(card_model):
    return evaluate_model(
        card_model.pipeline,
        card_model.X_test,
        card_model.y_test,
        task=card_model.task,
        target_info=card_model.target_info,
        sensitive=["owner", "selfemp"],
    )


# Classification ---------------------------------------------------------------------------------------------


def test_binary_metrics_agree_with_scikit_learn_on_the_same_split(card_model, card_report):
    pipeline, X_test, y_test = card_model.pipeline, card_model.X_test, card_model.y_test
    proba = pipeline.predict_proba(X_test)[:, list(pipeline.classes_).index("yes")]
    predicted = pipeline.predict(X_test)
    actual = y_test == "yes"
    metrics = card_report["metrics"]
    assert metrics["accuracy"] == pytest.approx(sk.accuracy_score(y_test, predicted))
    assert metrics["precision"] == pytest.approx(sk.precision_score(y_test, predicted, pos_label="yes"))
    assert metrics["recall"] == pytest.approx(sk.recall_score(y_test, predicted, pos_label="yes"))
    assert metrics["f1"] == pytest.approx(sk.f1_score(y_test, predicted, pos_label="yes"))
    assert metrics["roc_auc"] == pytest.approx(sk.roc_auc_score(actual, proba))
    assert metrics["pr_auc"] == pytest.approx(sk.average_precision_score(actual, proba))
    assert metrics["log_loss"] == pytest.approx(sk.log_loss(actual, proba))
    matrix = card_report["confusion_matrix"]
    assert matrix["labels"] == ["no", "yes"]
    assert matrix["matrix"] == sk.confusion_matrix(y_test, predicted, labels=["no", "yes"]).tolist()
    assert sum(map(sum, matrix["matrix"])) == card_model.test_rows


def test_the_report_is_json_and_its_curves_are_short(card_report):
    json.dumps(card_report, allow_nan=False)
    curves = card_report["curves"]
    roc, pr, calibration = curves["roc"], curves["pr"], curves["calibration"]
    assert 2 < len(roc["fpr"]) == len(roc["tpr"]) == len(roc["thresholds"]) <= 200
    assert roc["fpr"][0] == 0.0 and roc["fpr"][-1] == 1.0 and roc["tpr"][-1] == 1.0
    assert roc["thresholds"][0] is None, "the first ROC threshold is infinite, which JSON cannot hold"
    assert 2 < len(pr["precision"]) == len(pr["recall"]) <= 200
    assert len(calibration["mean_predicted"]) == len(calibration["fraction_positive"]) <= 10
    assert all(isinstance(value, int | float) for value in card_report["metrics"].values())


def test_long_curves_are_thinned_to_200_points_keeping_both_ends():
    rng = np.random.default_rng(0)
    actual = rng.random(5000) < 0.4
    scores = np.clip(actual * 0.2 + rng.random(5000) * 0.8, 0, 1)
    labels = np.where(actual, "pos", "neg")
    result = classification_metrics(labels, scores, ["neg", "pos"], "pos")
    roc = result["curves"]["roc"]
    fpr, tpr, _ = sk.roc_curve(actual, scores)
    assert len(fpr) > 200 and len(roc["fpr"]) == 200
    assert roc["fpr"][0] == fpr[0] and roc["fpr"][-1] == fpr[-1] and roc["tpr"][-1] == tpr[-1]
    assert result["roc_auc"] == pytest.approx(sk.roc_auc_score(actual, scores))


def test_the_threshold_moves_predictions_and_a_test_set_of_one_class_has_no_auc():
    labels = ["no", "yes", "yes", "no"]
    scores = [0.1, 0.6, 0.8, 0.55]
    assert classification_metrics(labels, scores, ["no", "yes"], "yes")["accuracy"] == 0.75
    assert classification_metrics(labels, scores, ["no", "yes"], "yes", threshold=0.58)["accuracy"] == 1.0
    one_class = classification_metrics(["yes", "yes"], [0.7, 0.2], ["no", "yes"], "yes")
    assert one_class["roc_auc"] is None and one_class["curves"]["roc"] is None
    json.dumps(one_class, allow_nan=False)


def test_multi_class_metrics_agree_with_scikit_learn(demo):
    frame, schema = demo
    frame = frame.assign(band=pd.cut(frame["income"], [0, 2.5, 4, 100], labels=["low", "mid", "high"]).astype(str))
    model = train_model(
        frame,
        {**schema, "band": "categorical"},
        target="band",
        estimator_path="sklearn.linear_model.LogisticRegression",
        params={"max_iter": 1000},
        drop=["income", "share"],
    )
    report = evaluate_model(model.pipeline, model.X_test, model.y_test, task=model.task, target_info=model.target_info)
    proba = model.pipeline.predict_proba(model.X_test)
    predicted = model.pipeline.predict(model.X_test)
    classes = list(model.pipeline.classes_)
    metrics = report["metrics"]
    assert metrics["accuracy"] == pytest.approx(sk.accuracy_score(model.y_test, predicted))
    assert metrics["f1"] == pytest.approx(sk.f1_score(model.y_test, predicted, average="macro"))
    assert metrics["precision"] == pytest.approx(sk.precision_score(model.y_test, predicted, average="macro"))
    assert metrics["roc_auc"] == pytest.approx(sk.roc_auc_score(model.y_test, proba, multi_class="ovr"))
    assert metrics["log_loss"] == pytest.approx(sk.log_loss(model.y_test, proba, labels=classes))
    assert report["confusion_matrix"]["labels"] == classes
    assert sum(map(sum, report["confusion_matrix"]["matrix"])) == model.test_rows
    assert "demographic_parity_difference" not in metrics and report["fairness"] == []
    json.dumps(report, allow_nan=False)


# Regression -------------------------------------------------------------------------------------------------


def test_regression_metrics_agree_with_scikit_learn(demo):
    frame, schema = demo
    model = train_model(
        frame,
        schema,
        target="income",
        estimator_path="sklearn.ensemble.RandomForestRegressor",
        params={"n_estimators": 20},
        drop=["share"],
    )
    report = evaluate_model(model.pipeline, model.X_test, model.y_test, task=model.task, target_info=model.target_info)
    predicted = model.pipeline.predict(model.X_test)
    metrics = report["metrics"]
    assert metrics["rmse"] == pytest.approx(sk.root_mean_squared_error(model.y_test, predicted))
    assert metrics["mae"] == pytest.approx(sk.mean_absolute_error(model.y_test, predicted))
    assert metrics["r2"] == pytest.approx(sk.r2_score(model.y_test, predicted))
    residuals = report["curves"]["residuals"]
    assert sum(residuals["counts"]) == model.test_rows
    assert len(residuals["edges"]) == len(residuals["counts"]) + 1 <= 31
    assert report["confusion_matrix"] is None
    assert {row["feature"] for row in report["feature_importance"]} == set(model.features)
    json.dumps(report, allow_nan=False)


def test_regression_metrics_by_hand():
    result = regression_metrics([1.0, 2.0, 3.0], [1.0, 2.0, 5.0])
    assert result["mae"] == pytest.approx(2 / 3)
    assert result["rmse"] == pytest.approx((4 / 3) ** 0.5)
    assert result["r2"] == pytest.approx(1 - 4 / 2)


# Feature importance -----------------------------------------------------------------------------------------


def test_importance_is_reported_on_the_original_columns_largest_first(card_model, card_report):
    importance = card_report["feature_importance"]
    assert [row["feature"] for row in importance] != [] and {row["feature"] for row in importance} == set(
        card_model.features
    )
    values = [row["importance"] for row in importance]
    assert values == sorted(values, reverse=True)


def test_a_leaking_column_tops_the_importance(demo):
    frame, schema = demo
    model = train_model(
        frame,
        schema,
        target="card",
        estimator_path="sklearn.ensemble.HistGradientBoostingClassifier",
        params={"max_iter": 20},
        drop=["share"],
    )
    importance = permutation_importance_report(model.pipeline, model.X_test, model.y_test, model.task, n_repeats=2)
    assert importance[0]["feature"] == "expenditure"
    assert importance[0]["importance"] > 0.2


# Fairness ---------------------------------------------------------------------------------------------------


def test_fairness_numbers_match_a_hand_count():
    y_true = ["yes", "yes", "no", "no", "yes", "no", "no", "no"]
    y_pred = ["yes", "no", "yes", "no", "yes", "yes", "yes", "no"]
    groups = pd.Series(["a", "a", "a", "a", "b", "b", "b", "b"], name="region")
    report = fairness_report(y_true, y_pred, groups, "yes")
    # a: predicted yes 2 of 4, true positives found 1 of 2; b: predicted yes 3 of 4, found 1 of 1.
    assert report == {
        "feature": "region",
        "groups": [
            {"group": "a", "count": 4, "selection_rate": 0.5, "true_positive_rate": 0.5},
            {"group": "b", "count": 4, "selection_rate": 0.75, "true_positive_rate": 1.0},
        ],
        "demographic_parity_difference": 0.25,
        "equal_opportunity_difference": 0.5,
    }


def test_a_group_without_positives_has_no_true_positive_rate_and_is_left_out_of_the_gap():
    y_true = ["yes", "no", "no", "yes", "no"]
    y_pred = ["yes", "yes", "no", "no", "no"]
    groups = pd.Series(["a", "b", "b", "c", np.nan], name="g")
    report = fairness_report(y_true, y_pred, groups, "yes")
    by_name = {row["group"]: row for row in report["groups"]}
    assert by_name["b"]["true_positive_rate"] is None and by_name["b"]["selection_rate"] == 0.5
    assert by_name["(missing)"]["count"] == 1
    assert report["equal_opportunity_difference"] == 1.0  # a finds 1 of 1, c 0 of 1
    assert report["demographic_parity_difference"] == 1.0  # a selects all, c and (missing) none


def test_a_numeric_feature_with_many_values_is_cut_into_quartiles():
    age = pd.Series(np.arange(40, dtype=float), name="age")
    y = ["yes" if value % 2 else "no" for value in range(40)]
    report = fairness_report(y, y, age, "yes")
    assert [row["count"] for row in report["groups"]] == [10, 10, 10, 10]
    assert [row["group"] for row in report["groups"]] == ["0 to 9.75", "9.75 to 19.5", "19.5 to 29.25", "29.25 to 39"]
    few = fairness_report(y, y, pd.Series([0, 1] * 20, name="flag"), "yes")
    assert [row["group"] for row in few["groups"]] == ["0", "1"]


def test_the_demo_fairness_covers_both_groups_of_owner_and_selfemp(card_model, card_report):
    reports = {report["feature"]: report for report in card_report["fairness"]}
    assert set(reports) == {"owner", "selfemp"}
    for name, report in reports.items():
        assert [row["group"] for row in report["groups"]] == ["no", "yes"]
        assert sum(row["count"] for row in report["groups"]) == card_model.test_rows
        rates = [row["selection_rate"] for row in report["groups"]]
        assert report["demographic_parity_difference"] == pytest.approx(max(rates) - min(rates)), name
    metrics = card_report["metrics"]
    assert metrics["demographic_parity_difference"] == max(
        report["demographic_parity_difference"] for report in reports.values()
    )
    assert metrics["equal_opportunity_difference"] == max(
        report["equal_opportunity_difference"] for report in reports.values()
    )


def test_fairness_can_use_a_column_that_was_not_a_feature(demo, card_model):
    frame, _ = demo
    sensitive = frame.loc[card_model.X_test.index, ["share"]]
    report = evaluate_model(
        card_model.pipeline,
        card_model.X_test,
        card_model.y_test,
        task=card_model.task,
        target_info=card_model.target_info,
        sensitive=sensitive,
    )
    (share,) = report["fairness"]
    assert share["feature"] == "share" and len(share["groups"]) == 4


# Leakage ----------------------------------------------------------------------------------------------------


def test_leakage_scan_flags_share_and_expenditure_on_the_demo(demo):
    frame, schema = demo
    flagged = leakage_scan(frame, "card", schema)
    assert [hit["column"] for hit in flagged] == ["share", "expenditure"]
    assert all(0.98 <= hit["score"] <= 1.0 for hit in flagged)


def test_leakage_scan_leaves_ordinary_columns_and_identifiers_alone(demo):
    frame, schema = demo
    frame = frame.assign(applicant=[f"A{i:05d}" for i in range(len(frame))], copy_of_card=frame["card"])
    flagged = {hit["column"] for hit in leakage_scan(frame, "card", {**schema, "applicant": "categorical"})}
    assert "copy_of_card" in flagged
    assert not flagged & {"income", "age", "applicant", "owner", "reports"}
    everything = {hit["column"] for hit in leakage_scan(frame, "card", schema, threshold=0.5)}
    assert {"income", "age"} <= everything


def test_leakage_scan_for_a_regression_target_uses_rank_correlation(demo):
    frame, schema = demo
    frame = frame.assign(income_in_dollars=frame["income"] * 10_000, noise=np.random.default_rng(0).random(len(frame)))
    flagged = [hit["column"] for hit in leakage_scan(frame, "income", schema)]
    assert flagged == ["income_in_dollars"]


def test_leakage_scan_of_a_single_label_target_finds_nothing():
    frame = pd.DataFrame({"x": [1.0, 2.0, 3.0], "y": ["a", "a", "a"]})
    assert leakage_scan(frame, "y", {"x": "numeric", "y": "categorical"}) == []


def test_test_rows_that_lack_a_class_still_evaluate():
    frame = pd.DataFrame({"x": np.arange(9.0), "t": ["a", "a", "a", "a", "b", "b", "b", "b", "c"]})
    model = train_model(
        frame,
        {"x": "numeric", "t": "categorical"},
        target="t",
        estimator_path="sklearn.ensemble.RandomForestClassifier",
        params={"n_estimators": 3},
    )
    assert "c" not in set(model.y_test)
    report = evaluate_model(model.pipeline, model.X_test, model.y_test, task=model.task, target_info=model.target_info)
    assert "roc_auc" not in report["metrics"], "one-vs-rest AUC needs every class in the test rows"
    assert report["metrics"]["accuracy"] == pytest.approx(
        sk.accuracy_score(model.y_test, model.pipeline.predict(model.X_test))
    )
    json.dumps(report, allow_nan=False)


def test_the_test_split_scores_are_kept_as_a_histogram(card_model, card_report):
    import numpy as np

    histogram = card_report["score_histogram"]
    positive = list(card_model.pipeline.classes_).index("yes")
    scores = card_model.pipeline.predict_proba(card_model.X_test)[:, positive]
    assert len(histogram) == 20 and sum(histogram) == len(card_model.X_test)
    assert histogram == np.histogram(scores, bins=20, range=(0, 1))[0].tolist()
