"""Hyperparameter search (``search:`` on a train step): the candidate parameter sets, and one trial's score by
k-fold cross-validation on the training split (the test split stays unseen until evaluation). No Django here: the
engine runs each trial as a Celery task and keeps the rows.
"""

from __future__ import annotations

import itertools
import math
import random

import numpy as np
import pandas as pd
from sklearn.model_selection import KFold, StratifiedKFold, cross_val_score

from pipelines_app.ml import training

# Scorers a search may maximise (scikit-learn's names: greater is better, losses negated).
CLASSIFICATION_METRICS = ("roc_auc", "accuracy", "balanced_accuracy", "f1", "average_precision", "neg_log_loss")
REGRESSION_METRICS = ("r2", "neg_mean_absolute_error", "neg_root_mean_squared_error")


def candidates(space: dict, method: str, trials: int | None, seed: int) -> list[dict]:
    """The parameter sets to try: every combination of the lists (grid), or ``trials`` draws (random), where a value
    is a list of choices or ``{uniform | log_uniform | int_uniform: [low, high]}``. Deterministic for a seed."""
    names = sorted(space)
    if method == "grid":
        return [dict(zip(names, values, strict=True)) for values in itertools.product(*(space[n] for n in names))]
    rng = random.Random(seed)
    return [{name: _draw(space[name], rng) for name in names} for _ in range(trials)]


def _draw(value, rng: random.Random):
    if isinstance(value, list):
        return value[rng.randrange(len(value))]
    ((kind, (low, high)),) = value.items()
    if kind == "uniform":
        return rng.uniform(low, high)
    if kind == "log_uniform":
        return math.exp(rng.uniform(math.log(low), math.log(high)))
    return rng.randint(int(low), int(high))  # int_uniform


def cross_validated(
    frame: pd.DataFrame, schema: dict, *, target: str, estimator_path: str, params: dict, features, drop,
    test_size, random_state, task, positive_label, cv: int, metric: str,
) -> list[float]:  # fmt: skip
    """Each fold's score of ``params`` on the training split (stratified folds for a classifier)."""
    estimator_cls = training.import_estimator(estimator_path)
    X_train, y_train, task, kinds, columns = training.training_split(
        frame, schema, target=target, features=features, drop=drop, test_size=test_size, random_state=random_state,
        task=task, estimator_cls=estimator_cls, positive_label=positive_label,
    )  # fmt: skip
    resolved = training.coerce_params(estimator_cls, params)
    pipeline = training.build_pipeline(kinds, columns, estimator_cls, resolved)
    if task == training.CLASSIFICATION:
        folds = StratifiedKFold(n_splits=cv, shuffle=True, random_state=random_state)
    else:
        folds = KFold(n_splits=cv, shuffle=True, random_state=random_state)
    scores = cross_val_score(pipeline, X_train, y_train, cv=folds, scoring=metric, error_score="raise")
    return [float(s) for s in np.asarray(scores)]
