"""The test suite's shared demo model (tests/trained_once.py): what it hands out is what fitting would have given."""

import numpy as np
import pytest

from pipelines_app.ml import artifacts, metrics, training
from pipelines_app.ml.datasets import infer_schema, read_csv_checked
from tests.trained_once import trained_once

SETTINGS = {
    "target": "card",
    "estimator_path": "sklearn.linear_model.LogisticRegression",
    "params": {"max_iter": 1000},
    "drop": ["share", "expenditure"],
    "random_state": 42,
    "positive_label": "yes",
}


@pytest.fixture(scope="module")
def demo(demo_csv_bytes):
    frame = read_csv_checked(demo_csv_bytes, max_bytes=len(demo_csv_bytes))
    return frame, infer_schema(frame)


def fitted(demo, **changes):
    reported = []
    result = training.train_model(*demo, progress=reported.append, **(SETTINGS | changes))
    return result, reported


def test_a_shared_model_is_the_one_fitting_gives_with_its_progress(demo):
    real, real_progress = fitted(demo)
    with trained_once():
        first, _ = fitted(demo)
        again, again_progress = fitted(demo)
    assert again is not first and again.pipeline is not first.pipeline  # a copy: a test may change its own
    assert again_progress == real_progress == [0, 100]
    # (skops files of one model differ byte for byte from dump to dump, so the fitted state is compared.)
    model, real_model = again.pipeline[-1], real.pipeline[-1]
    assert np.array_equal(model.coef_, real_model.coef_) and np.array_equal(model.intercept_, real_model.intercept_)
    stored = artifacts.dump_model(again.pipeline)  # as the train step stores it, and serving loads it back
    loaded = artifacts.load_model(stored, artifacts.sha256_of(stored))
    assert np.array_equal(loaded.predict_proba(real.X_test), real.pipeline.predict_proba(real.X_test))
    assert again.X_test.equals(real.X_test) and again.reference_profile == real.reference_profile
    assert np.array_equal(again.pipeline.predict_proba(real.X_test), real.pipeline.predict_proba(real.X_test))


def test_other_settings_or_other_rows_are_fitted_anew(demo):
    frame, schema = demo
    with trained_once():
        base, _ = fitted(demo)
        stronger, _ = fitted(demo, params={"max_iter": 1000, "C": 0.01})
        fewer, _ = fitted((frame.iloc[:-40], schema))
    coef = base.pipeline[-1].coef_
    assert not np.allclose(stronger.pipeline[-1].coef_, coef)
    assert fewer.train_rows < base.train_rows and not np.allclose(fewer.pipeline[-1].coef_, coef)


def test_an_evaluation_is_shared_for_the_same_model_and_rows_only(demo):
    result, _ = fitted(demo)
    args = (result.pipeline, result.X_test, result.y_test)
    options = {"task": result.task, "target_info": result.target_info, "sensitive": ["owner", "selfemp"]}
    real = metrics.evaluate_model(*args, **options)
    with trained_once():
        metrics.evaluate_model(*args, **options)
        shared = metrics.evaluate_model(*args, **options)
        fewer = metrics.evaluate_model(result.pipeline, result.X_test[:-20], result.y_test[:-20], **options)
    assert shared == real
    assert fewer["metrics"] != real["metrics"]


def test_outside_the_block_the_real_functions_are_back():
    real_train, real_evaluate = training.train_model, metrics.evaluate_model
    with trained_once():
        assert training.train_model is not real_train
    assert (training.train_model, metrics.evaluate_model) == (real_train, real_evaluate)
