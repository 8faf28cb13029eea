"""Performance estimated from scores alone, against the realised performance on the demo data without drift."""

import numpy as np
import pytest
from sklearn.metrics import accuracy_score, roc_auc_score

from pipelines_app.ml import metrics, training
from pipelines_app.ml.datasets import infer_schema, read_csv_checked
from pipelines_app.monitoring.estimate import estimate, pool_adjacent_violators
from pipelines_app.monitoring.rollups import SCORE_BINS
from tests.conftest import DEMO_CSV


def test_pooling_makes_the_curve_non_decreasing():
    assert pool_adjacent_violators([0.1, 0.5, 0.3, 0.9], [1, 1, 1, 1]).tolist() == [0.1, 0.4, 0.4, 0.9]


def test_the_estimate_is_close_to_the_realised_performance_without_drift():
    frame = read_csv_checked(DEMO_CSV.read_bytes(), max_bytes=10**8)
    result = training.train_model(
        frame, infer_schema(frame), target="card", estimator_path="sklearn.linear_model.LogisticRegression",
        params={"max_iter": 1000}, drop=["share", "expenditure"], random_state=5, positive_label="yes",
    )  # fmt: skip
    report = metrics.evaluate_model(
        result.pipeline, result.X_test, result.y_test, task=result.task, target_info=result.target_info
    )
    evaluation = {k: v for k, v in report.items() if k != "metrics"}
    # Live traffic without drift: the whole table, scored.
    X = frame[result.features]
    truth = (frame["card"].astype(str) == "yes").to_numpy()
    scores = result.pipeline.predict_proba(X)[:, list(result.pipeline.classes_).index("yes")]
    histogram = np.bincount(np.minimum((scores * SCORE_BINS).astype(int), SCORE_BINS - 1), minlength=SCORE_BINS)
    estimated = estimate(histogram.tolist(), evaluation)
    assert estimated["rows"] == len(frame)
    assert estimated["accuracy"] == pytest.approx(accuracy_score(truth, scores >= 0.5), abs=0.05)
    assert estimated["roc_auc"] == pytest.approx(roc_auc_score(truth, scores), abs=0.06)


def test_no_calibration_curve_no_estimate():
    assert estimate([1, 2, 3], {"curves": {}}) is None
    assert estimate([0, 0], {"curves": {"calibration": {"mean_predicted": [0.5], "fraction_positive": [0.5]}}}) is None
