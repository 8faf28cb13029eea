"""One estimator allow-list: what a pipeline file may name is exactly what the worker will import."""

import pytest

from pipelines_app.authoring import ESTIMATORS
from pipelines_app.ml.training import import_estimator
from pipelines_app.spec import validate_pipeline

PATHS = [
    # Accepted by both.
    "sklearn.ensemble.HistGradientBoostingClassifier",
    "sklearn.linear_model.Ridge",
    "sklearn.neighbors.KNeighborsClassifier",
    *(choice.path for choice in ESTIMATORS.values()),
    # Refused by both.
    "os.system",
    "builtins.eval",
    "sklearn",
    "sklearn.ensemble.NoSuchForest",
    "sklearn.nosuchmodule.Thing",
    "sklearn.base.clone",
    "sklearn.metrics.roc_auc_score",
    "sklearn.preprocessing.StandardScaler",
    "sklearn.ensemble.BaseEnsemble",
    "sklearn.ensemble.__builtins__",
    # Private modules and experiment switches: importable, and once let through by the worker alone.
    "sklearn.utils._testing.MinimalClassifier",
    "sklearn.ensemble._forest.RandomForestClassifier",
    "sklearn.experimental.enable_halving_search_cv.HalvingGridSearchCV",
    "sklearn.experimental.enable_iterative_imputer",
    # Spaces around a path: the worker once stripped them, the file never did.
    " sklearn.linear_model.Ridge",
]


def accepted_by_validation(path):
    step = f'{{name: fit, type: train, target: y, estimator: "{path}"}}'
    text = f"version: 1\nname: p\nmodel: m\nstages:\n  - name: s\n    steps:\n      - {step}\n"
    return not [error for error in validate_pipeline(text) if error.path.endswith(".estimator")]


def accepted_by_the_worker(path):
    try:
        import_estimator(path)
    except ValueError:
        return False
    return True


@pytest.mark.parametrize("path", PATHS)
def test_validation_and_the_worker_accept_the_same_estimators(path):
    assert accepted_by_validation(path) == accepted_by_the_worker(path)


def test_the_list_holds_both_kinds():
    verdicts = {accepted_by_the_worker(path) for path in PATHS}

    assert verdicts == {True, False}
    assert accepted_by_the_worker("sklearn.linear_model.Ridge")
    assert not accepted_by_the_worker("sklearn.utils._testing.MinimalClassifier")
