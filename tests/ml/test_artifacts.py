"""Model files: every wizard estimator round-trips through skops, and changed or untrusted files are refused."""

import numpy as np
import pandas as pd
import pytest
import skops.io as sio
from sklearn.base import BaseEstimator, ClassifierMixin

from pipelines_app.ml import artifacts
from pipelines_app.ml.artifacts import TRUSTED_TYPES, ArtifactIntegrityError, dump_model, load_model, sha256_of
from pipelines_app.ml.training import build_pipeline, import_estimator

SCHEMA = {"income": "numeric", "age": "numeric", "city": "categorical", "empty": "numeric", "blank": "categorical"}

# What the pipeline wizard offers, then the close kin that TRUSTED_TYPES also promises to cover.
CLASSIFIERS = [
    "sklearn.linear_model.LogisticRegression",
    "sklearn.ensemble.RandomForestClassifier",
    "sklearn.ensemble.HistGradientBoostingClassifier",
    "sklearn.ensemble.GradientBoostingClassifier",
    "sklearn.ensemble.ExtraTreesClassifier",
    "sklearn.tree.DecisionTreeClassifier",
]
REGRESSORS = [
    "sklearn.linear_model.Ridge",
    "sklearn.ensemble.RandomForestRegressor",
    "sklearn.ensemble.HistGradientBoostingRegressor",
    "sklearn.ensemble.GradientBoostingRegressor",
    "sklearn.ensemble.ExtraTreesRegressor",
    "sklearn.tree.DecisionTreeRegressor",
    "sklearn.linear_model.LinearRegression",
    "sklearn.linear_model.Lasso",
    "sklearn.linear_model.ElasticNet",
]
SMALL = {"n_estimators": 5}


def table(rows=120, seed=0):
    """Features with gaps and empty columns, a binary and a three-way text label, and a numeric target."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "income": rng.normal(50, 10, rows),
            "age": rng.integers(18, 80, rows).astype(float),
            "city": pd.Series(rng.choice(["north", "south", "east"], rows), dtype="str"),
            "empty": np.nan,
            "blank": pd.Series([None] * rows, dtype="str"),
        }
    )
    frame.loc[::6, "income"] = np.nan
    frame.loc[::4, "city"] = np.nan
    labels = {
        "binary": pd.Series(np.where(rng.random(rows) < 0.4, "yes", "no")),
        "three": pd.Series(rng.choice(["low", "mid", "high"], rows)),
        "number": pd.Series(rng.normal(0, 1, rows)),
    }
    return frame, labels


def fitted(path, y):
    estimator_cls = import_estimator(path)
    accepted = estimator_cls().get_params()
    params = {name: value for name, value in SMALL.items() if name in accepted}
    if "HistGradientBoosting" in path:
        params["max_iter"] = 10
    if "random_state" in accepted:
        params["random_state"] = 0
    frame, _ = table()
    return build_pipeline(SCHEMA, list(SCHEMA), estimator_cls, params).fit(frame, y), frame


@pytest.mark.parametrize(
    ("path", "target"),
    [(path, "binary") for path in CLASSIFIERS]
    + [(path, "three") for path in CLASSIFIERS[:4]]
    + [(path, "number") for path in REGRESSORS],
)
def test_every_offered_estimator_round_trips_with_only_trusted_types(path, target):
    _, labels = table()
    pipeline, frame = fitted(path, labels[target])
    data = dump_model(pipeline)
    assert set(sio.get_untrusted_types(data=data)) <= set(TRUSTED_TYPES)
    loaded = load_model(data, sha256_of(data))
    np.testing.assert_array_equal(loaded.predict(frame), pipeline.predict(frame))
    if hasattr(pipeline, "predict_proba"):
        np.testing.assert_array_equal(loaded.predict_proba(frame), pipeline.predict_proba(frame))


def test_a_flipped_byte_is_refused_before_anything_is_parsed(monkeypatch):
    _, labels = table()
    pipeline, _ = fitted(CLASSIFIERS[0], labels["binary"])
    data = dump_model(pipeline)
    digest = sha256_of(data)
    changed = bytearray(data)
    changed[len(changed) // 2] ^= 0x01

    def must_not_run(*args, **kwargs):
        raise AssertionError("the file was parsed before its digest was checked")

    monkeypatch.setattr(artifacts.sio, "loads", must_not_run)
    monkeypatch.setattr(artifacts.sio, "get_untrusted_types", must_not_run)
    with pytest.raises(ArtifactIntegrityError, match="SHA-256"):
        load_model(bytes(changed), digest)
    with pytest.raises(ArtifactIntegrityError, match="SHA-256"):
        load_model(data, "0" * 64)


def test_the_digest_is_the_hex_sha256_of_the_bytes():
    assert sha256_of(b"abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"


class SneakyClassifier(ClassifierMixin, BaseEstimator):
    """A class of our own: skops must not rebuild it from a file, whatever it claims to be."""

    def fit(self, X, y):
        self.classes_ = np.unique(y)
        return self

    def predict(self, X):
        return np.repeat(self.classes_[0], len(X))


def test_a_file_holding_an_untrusted_type_is_refused_by_name():
    frame, labels = table()
    pipeline = build_pipeline(SCHEMA, list(SCHEMA), SneakyClassifier, {}).fit(frame, labels["binary"])
    data = dump_model(pipeline)
    with pytest.raises(ArtifactIntegrityError, match="not trusted.*SneakyClassifier"):
        load_model(data, sha256_of(data))
    assert artifacts.untrusted_types_of(pipeline) == [f"{__name__}.SneakyClassifier"]


def test_bytes_that_are_not_a_skops_file_are_refused():
    data = b"not a model at all"
    with pytest.raises(ArtifactIntegrityError, match="cannot be loaded"):
        load_model(data, sha256_of(data))
