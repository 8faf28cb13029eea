"""Train a scikit-learn model on a tabular dataset: the ``train`` step's machinery (DESIGN.md §6).

``train_model`` is the entry point. It types the columns by the dataset's schema, decides the task, prepares the
target, splits off a test set, builds the standard pipeline and fits it while reporting progress:

- numeric columns: missing values imputed with the median, then standardised;
- categorical columns: missing values imputed with the most frequent category, then one-hot encoded, with
  categories unseen in training encoded as all zeros;
- then the estimator, any scikit-learn classifier or regressor named by its dotted path.

Conventions that callers can rely on:

- Classification labels are text, written as the dataset page shows them ("1" for 1.0, "yes", "True"). For a
  binary target the positive label is the one given, else the label that sorts last ("yes" over "no", "1" over
  "0", "True" over "False"; numbers sort as numbers), which is the usual meaning of the larger label.
- Rows with a missing target are left out and counted in ``target_info["dropped_missing_target"]``.
- The split keeps the frame's index, so that other columns of the test rows can be found with
  ``frame.loc[X_test.index]``; ``held_out`` reproduces the test split of a trained model from the same data.
- The step's ``random_state`` seeds the split and, unless the params set one, the estimator, so that a run can
  be repeated exactly.

It imports no Django so that it can be unit-tested alone.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import math
import numbers
import platform
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd
from pandas.api.types import is_bool_dtype, is_numeric_dtype
from sklearn.base import is_classifier, is_regressor
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.model_selection import train_test_split
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from pipelines_app.ml import artifacts
from pipelines_app.ml.datasets import CATEGORICAL, KINDS, NUMERIC, apply_schema, infer_schema, profile_dataframe
from pipelines_app.spec.estimators import load_estimator

CLASSIFICATION = "classification"
REGRESSION = "regression"
TASKS = (CLASSIFICATION, REGRESSION)

# A numeric target with at most this many distinct whole numbers is taken for class labels (0/1, ratings 1-5).
MAX_CLASSES_FOR_INTEGERS = 20
# Beyond this many categories a column's rarest ones share one indicator: an identifier-like column would
# otherwise add a column per row, which dense-only estimators (HistGradientBoosting*) cannot hold in memory.
MAX_CATEGORIES = 100
FEATURE_SCHEMA_CATEGORIES = 50
PROGRESS_STEPS = 10


@dataclass
class TrainResult:
    """A fitted pipeline with its split and everything the model registry records about it."""

    pipeline: Pipeline
    task: str
    target_info: dict
    features: list[str]
    feature_schema: list[dict]
    X_train: pd.DataFrame
    X_test: pd.DataFrame
    y_train: pd.Series
    y_test: pd.Series
    params: dict
    estimator: str
    library_versions: dict
    reference_profile: dict
    train_rows: int
    test_rows: int


# The task and the target ------------------------------------------------------------------------------------


def infer_task(y: pd.Series, declared: str | None = None) -> str:
    """``classification`` or ``regression`` for the target ``y``, or the declared task once checked.

    Text and true/false targets are classified; so are numbers when every value is a whole number and there are at
    most 20 distinct ones (0/1 flags, ratings). Other numbers are regressed.
    """
    present = y.dropna()
    if declared is not None:
        if declared not in TASKS:
            raise ValueError(f"The task '{declared}' is unknown; use 'classification' or 'regression'.")
        if declared == REGRESSION and _as_numbers(present) is None:
            raise ValueError(f"The target '{y.name}' holds text, so it cannot be regressed; use classification.")
        return declared
    if present.empty:
        raise ValueError(f"The target '{y.name}' has no values.")
    if is_bool_dtype(present.dtype) or not is_numeric_dtype(present.dtype):
        return CLASSIFICATION
    values = present.to_numpy(dtype="float64")
    whole = bool(np.all(np.isfinite(values) & (values == np.round(values))))
    if whole and len(np.unique(values)) <= MAX_CLASSES_FOR_INTEGERS:
        return CLASSIFICATION
    return REGRESSION


def prepare_target(y: pd.Series, task: str, positive_label=None) -> tuple[pd.Series, dict]:
    """The target without its missing rows, as text labels (classification) or float64 (regression), and its info.

    The info holds ``classes`` (binary: ``[negative, positive]``; multi-class: all labels in order; regression:
    None), ``positive_label`` (binary: the one given, else the label that sorts last) and
    ``dropped_missing_target``. A positive label that the target does not hold is a ``ValueError``.
    """
    name = y.name
    if task == REGRESSION:
        if positive_label is not None:
            raise ValueError("positive_label only applies to classification, but the task is regression.")
        numbers_ = _as_numbers(y)
        if numbers_ is None:
            raise ValueError(f"The target '{name}' holds text, so it cannot be regressed; use classification.")
        kept = numbers_.dropna()
        return kept, {"classes": None, "positive_label": None, "dropped_missing_target": len(y) - len(kept)}
    if task != CLASSIFICATION:
        raise ValueError(f"The task '{task}' is unknown; use 'classification' or 'regression'.")
    labels = as_labels(y).dropna()
    dropped = len(y) - len(labels)
    seen = sort_labels(labels.unique())
    if not seen:
        raise ValueError(f"The target '{name}' has no values.")
    if len(seen) < 2:
        raise ValueError(f"The target '{name}' has only one label ('{seen[0]}'); a classifier needs at least two.")
    positive = None
    if positive_label is not None:
        positive = label_text(positive_label)
        if positive not in seen:
            raise ValueError(
                f"The positive label '{positive}' does not occur in the target '{name}'; "
                f"the labels seen are {_quoted(seen[:20])}{' and more' if len(seen) > 20 else ''}."
            )
    if len(seen) == 2:
        positive = positive or seen[-1]
        classes = [seen[0] if seen[1] == positive else seen[1], positive]
    else:
        classes = seen
    info = {"classes": classes, "positive_label": positive, "dropped_missing_target": dropped}
    return labels, info


def as_labels(y) -> pd.Series:
    """Class labels as text, written the way the dataset page shows categories; missing stays missing."""
    series = y if isinstance(y, pd.Series) else pd.Series(y)
    name = series.name if series.name is not None else "target"
    labels = apply_schema(series.to_frame(name=name), {name: CATEGORICAL})[name]
    return labels.rename(series.name)


def label_text(value) -> str:
    """One label as text by the same rule as ``as_labels`` (so that 1, 1.0 and "1" all name the label "1")."""
    return str(as_labels(pd.Series([value], dtype=object if isinstance(value, str) else None)).iloc[0])


def sort_labels(labels: Iterable[str]) -> list[str]:
    """Labels in order: as numbers when they all are numbers ("2" before "10"), else as text."""
    labels = [str(label) for label in labels]
    try:
        return sorted(labels, key=float)
    except ValueError:
        return sorted(labels)


def _as_numbers(y: pd.Series) -> pd.Series | None:
    """The series as float64, or None when a value present is not a number."""
    if is_bool_dtype(y.dtype):
        return None
    if is_numeric_dtype(y.dtype):
        values = y.astype("float64")
    else:
        values = pd.to_numeric(y, errors="coerce").astype("float64")
        if (values.isna() & y.notna()).any():
            return None
    return values.where(np.isfinite(values))


def _quoted(labels: list[str]) -> str:
    parts = [f"'{label}'" for label in labels]
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]


# The estimator and its parameters ---------------------------------------------------------------------------


def import_estimator(estimator_path: str) -> type:
    """The scikit-learn classifier or regressor class a dotted path names, or ``ValueError`` saying why not.

    The allow-list is the pipeline file's (``spec/estimators.py``): the worker imports exactly what validation
    accepts, so a path refused when the file was saved is refused here too, and the reverse. ml depends on
    spec for it, not spec on ml, because the list is a rule about what a file may name: spec keeps to
    validating files and knows nothing of training."""
    return load_estimator(estimator_path)


def coerce_params(estimator_cls: type, params: dict | None) -> dict:
    """The params with text turned into numbers or booleans where the estimator's default is one.

    Params arrive as text when they come from a run's inputs ("200"). A default of None says nothing about the
    type, so such text becomes a number when it reads as one and None when it reads "none" or "null". Whole
    floats become ints where the default is an int, as scikit-learn refuses 200.0 iterations.
    Unknown names are a ``ValueError`` naming them.
    """
    params = dict(params or {})
    defaults = _default_instance(estimator_cls).get_params(deep=False)
    unknown = sorted(str(name) for name in params if name not in defaults)
    if unknown:
        raise ValueError(
            f"{estimator_cls.__name__} has no parameter{'s' if len(unknown) > 1 else ''} {_quoted(unknown)}; "
            f"it accepts {', '.join(sorted(defaults))}."
        )
    return {name: _coerce(name, value, defaults[name]) for name, value in params.items()}


def _default_instance(estimator_cls: type):
    try:
        return estimator_cls()
    except TypeError:
        # Meta-estimators such as StackingClassifier need other estimators as arguments, which params cannot give.
        raise ValueError(
            f"{estimator_cls.__name__} cannot be built from plain parameters; use another estimator."
        ) from None


def _coerce(name: str, value, default):
    if isinstance(default, bool):
        if isinstance(value, str):
            word = value.strip().lower()
            if word in ("true", "yes", "on", "1"):
                return True
            if word in ("false", "no", "off", "0"):
                return False
            raise ValueError(f"The parameter '{name}' is true or false, not '{value}'.")
        return value
    if isinstance(value, str):
        text = value.strip()
        if default is None and text.lower() in ("none", "null"):
            return None
        if isinstance(default, numbers.Number) or default is None:
            number = _number(text)
            if number is not None:
                value = float(number) if isinstance(default, float) else number
    if isinstance(default, numbers.Integral) and isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _number(text: str) -> int | float | None:
    try:
        return int(text)
    except ValueError:
        pass
    try:
        number = float(text)
    except ValueError:
        return None
    return number if math.isfinite(number) else None


# The pipeline -----------------------------------------------------------------------------------------------


def build_pipeline(schema: dict[str, str], features: list[str], estimator_cls: type, params: dict) -> Pipeline:
    """Preprocessing (DESIGN.md §6) then the estimator, built with ``params`` (coerced, see ``coerce_params``).

    Columns entirely missing in training are kept and imputed with 0, so that a table of empty columns still fits
    and the fitted pipeline accepts the same columns later. The one-hot output is sparse only for estimators
    that take sparse input.
    """
    unknown = [column for column in features if schema.get(column) not in KINDS]
    if unknown:
        raise ValueError(f"The schema gives no kind (numeric or categorical) for {_quoted([str(c) for c in unknown])}.")
    estimator = estimator_cls(**coerce_params(estimator_cls, params))
    numeric = [column for column in features if schema[column] == NUMERIC]
    categorical = [column for column in features if schema[column] == CATEGORICAL]
    numeric_steps = Pipeline(
        [("impute", SimpleImputer(strategy="median", keep_empty_features=True)), ("scale", StandardScaler())]
    )
    categorical_steps = Pipeline(
        [
            ("impute", SimpleImputer(strategy="most_frequent", keep_empty_features=True)),
            ("onehot", OneHotEncoder(handle_unknown="ignore", max_categories=MAX_CATEGORIES)),
        ]
    )
    accepts_sparse = estimator.__sklearn_tags__().input_tags.sparse
    preprocess = ColumnTransformer(
        [("numeric", numeric_steps, numeric), ("categorical", categorical_steps, categorical)],
        sparse_threshold=0.3 if accepts_sparse else 0.0,
    )
    return Pipeline([("preprocess", preprocess), ("model", estimator)])


def split(X: pd.DataFrame, y: pd.Series, task: str, test_size=0.25, random_state=42):
    """``(X_train, X_test, y_train, y_test)``; stratified by label for classification when every label has two rows.

    Where stratifying is impossible (a label with a single row, or a test set smaller than the number of labels)
    the split is a plain random one.
    """
    if len(y) < 2:
        raise ValueError(f"There {'is' if len(y) == 1 else 'are'} {len(y)} usable row(s); training needs more.")
    if task == CLASSIFICATION and y.value_counts().min() >= 2:
        try:
            return train_test_split(X, y, test_size=test_size, random_state=random_state, stratify=y)
        except ValueError:
            pass
    return train_test_split(X, y, test_size=test_size, random_state=random_state)


def _incremental_plan(estimator) -> tuple[str, int] | None:
    """The parameter to grow step by step with ``warm_start``, and its final value; None to fit in one go.

    Only ensembles whose warm start is known to give the same model as one fit: forests, bagging and gradient
    boosting add trees (``n_estimators``), HistGradientBoosting adds iterations (``max_iter``). Gradient
    boosting's early stopping forgets its history at each warm start, so with ``n_iter_no_change`` it fits once.
    Linear models and networks also have ``warm_start`` and ``max_iter``, but resuming them changes the result.
    """
    params = estimator.get_params(deep=False)
    if "warm_start" not in params:
        return None
    if type(estimator).__name__.startswith("HistGradientBoosting") and isinstance(params.get("max_iter"), int):
        return "max_iter", params["max_iter"]
    if not isinstance(params.get("n_estimators"), numbers.Integral) or isinstance(params["n_estimators"], bool):
        return None
    if params.get("n_iter_no_change") is not None:
        return None
    return "n_estimators", int(params["n_estimators"])


def fit_with_progress(pipeline: Pipeline, X, y, progress: Callable[[int], object] = lambda pct: None) -> Pipeline:
    """Fit the pipeline in place, calling ``progress`` with percentages that rise from 0 to 100; return it.

    Ensembles that can grow by warm start (see ``_incremental_plan``) are fitted in about ten increments, each
    reported; the model is the same as one plain fit. Others report 0 and 100. An exception raised by
    ``progress`` stops the fit, which is how a cancelled run can end early.
    """
    estimator = pipeline[-1]
    plan = _incremental_plan(estimator)
    progress(0)
    if plan is None or plan[1] < 2:
        pipeline.fit(X, y)
        progress(100)
        return pipeline
    name, total = plan
    warm_start = estimator.get_params()["warm_start"]
    # The slice shares its steps with the pipeline, so fitting it fits the pipeline's own preprocessing.
    Xt = pipeline[:-1].fit_transform(X, y)
    estimator.set_params(warm_start=True)
    targets = sorted({math.ceil(total * step / PROGRESS_STEPS) for step in range(1, PROGRESS_STEPS + 1)})
    try:
        for target in targets:
            estimator.set_params(**{name: target})
            estimator.fit(Xt, y)
            if target < total and _stopped_early(estimator, target):
                # Early stopping ended the fit inside this increment, just where one plain fit would have.
                break
            if target < total:
                progress(round(100 * target / total))
    finally:
        # Report the parameters as asked for, not the increment the loop stopped at.
        estimator.set_params(warm_start=warm_start, **{name: total})
    progress(100)
    return pipeline


def _stopped_early(estimator, target: int) -> bool:
    done = getattr(estimator, "n_iter_", None)
    if done is None:
        done = getattr(estimator, "n_estimators_", None)
    return done is not None and np.ndim(done) == 0 and int(done) < target


# Training ---------------------------------------------------------------------------------------------------


def train_model(
    frame: pd.DataFrame,
    schema: dict,
    *,
    target: str,
    estimator_path: str,
    params: dict | None,
    features: list[str] | None = None,
    drop: Iterable[str] | None = (),
    test_size: float | None = 0.25,
    random_state: int | None = 42,
    task: str | None = None,
    positive_label=None,
    progress: Callable[[int], object] = lambda pct: None,
) -> TrainResult:
    """Fit the standard pipeline on ``frame`` and return it with its split and registry record.

    ``features`` defaults to every column but the target and those in ``drop``, in the frame's order. The task is
    the declared one, else the estimator's kind (a regressor regresses a 0/1 column), else inferred from the
    target. A pipeline whose fitted model skops could not load back is refused here rather than at deployment.
    Every problem with the inputs is a ``ValueError`` with a plain message.
    """
    random_state = 42 if random_state is None else int(random_state)
    estimator_cls = import_estimator(estimator_path)
    parts = _split_parts(frame, schema, target, features, drop, test_size, random_state, task, estimator_cls,
                         positive_label)  # fmt: skip
    X_train, X_test, y_train, y_test, task, kinds, features, target_info = parts
    resolved_params = coerce_params(estimator_cls, params)
    if (
        "random_state" in _default_instance(estimator_cls).get_params(deep=False)
        and "random_state" not in resolved_params
    ):
        resolved_params["random_state"] = random_state

    pipeline = build_pipeline(kinds, features, estimator_cls, resolved_params)
    fit_with_progress(pipeline, X_train, y_train, progress)
    untrusted = artifacts.untrusted_types_of(pipeline)
    if untrusted:
        raise ValueError(
            f"A model fitted with {estimator_cls.__name__} holds types that cannot be loaded safely later "
            f"({', '.join(untrusted)}); choose another estimator."
        )

    target_kind = CATEGORICAL if task == CLASSIFICATION else NUMERIC
    reference = X_train.assign(**{target: y_train.to_numpy()})
    return TrainResult(
        pipeline=pipeline,
        task=task,
        target_info=target_info,
        features=features,
        feature_schema=_feature_schema(X_train, kinds),
        X_train=X_train,
        X_test=X_test,
        y_train=y_train,
        y_test=y_test,
        params=_json_safe_params(pipeline[-1].get_params(deep=False)),
        estimator=str(estimator_path).strip(),
        library_versions=library_versions(),
        reference_profile=profile_dataframe(reference, {**{f: kinds[f] for f in features}, target: target_kind}),
        train_rows=len(X_train),
        test_rows=len(X_test),
    )


def _split_parts(frame, schema, target, features, drop, test_size, random_state, task, estimator_cls, positive_label):
    """The train/test split train_model makes: (X_train, X_test, y_train, y_test, task, kinds, features,
    target_info)."""
    test_size = 0.25 if test_size is None else _test_size(test_size)
    features = _features(frame, target, features, drop)
    kinds = _kinds(frame, schema, features + [target])
    raw_target = apply_schema(frame[[target]], {target: kinds[target]})[target]
    task = _resolve_task(raw_target, estimator_cls, task)
    X, y, target_info = _rows(frame, kinds, target, features, task, positive_label)
    X_train, X_test, y_train, y_test = split(X, y, task, test_size, random_state)
    if task == CLASSIFICATION and y_train.nunique() < 2:
        raise ValueError(f"The training rows hold a single label of '{target}'; a classifier needs at least two.")
    return X_train, X_test, y_train, y_test, task, kinds, features, target_info


def training_split(
    frame, schema, *, target, features, drop, test_size, random_state, task, estimator_cls, positive_label
):  # fmt: skip
    """(X_train, y_train, task, kinds, features): the training split ``train_model`` would fit on, for a search's
    cross-validation."""
    random_state = 42 if random_state is None else int(random_state)
    X_train, _, y_train, _, task, kinds, features, _ = _split_parts(
        frame, schema, target, features, drop, test_size, random_state, task, estimator_cls, positive_label
    )
    return X_train, y_train, task, kinds, features


def held_out(
    frame: pd.DataFrame,
    schema: dict,
    *,
    target: str,
    features: list[str],
    task: str,
    target_info: dict,
    test_size: float | None = 0.25,
    random_state: int | None = 42,
) -> tuple[pd.DataFrame, pd.Series]:
    """``(X_test, y_test)`` of a model trained by ``train_model`` on the same frame with the same split settings."""
    random_state = 42 if random_state is None else int(random_state)
    test_size = 0.25 if test_size is None else _test_size(test_size)
    kinds = _kinds(frame, schema, list(features) + [target])
    positive = (target_info or {}).get("positive_label") if task == CLASSIFICATION else None
    X, y, _ = _rows(frame, kinds, target, list(features), task, positive)
    _, X_test, _, y_test = split(X, y, task, test_size, random_state)
    return X_test, y_test


def _rows(frame, kinds, target, features, task, positive_label):
    """Typed features and prepared target of the rows whose target is present."""
    typed = apply_schema(frame[features + [target]], kinds)
    # By position, so that a frame whose index repeats labels still selects each row once.
    y, info = prepare_target(typed[target].reset_index(drop=True), task, positive_label)
    X = typed[features].iloc[y.index.to_numpy()]
    return X, y.set_axis(X.index), info


def _features(frame: pd.DataFrame, target: str, features, drop) -> list[str]:
    columns = [str(column) for column in frame.columns]
    if len(set(columns)) != len(columns) or any(not isinstance(column, str) for column in frame.columns):
        raise ValueError("The table's column names must be unique text.")
    if target not in columns:
        raise ValueError(f"The target '{target}' is not a column of the table; the columns are {_quoted(columns)}.")
    drop = list(drop or ())
    named = list(features or ()) + drop
    absent = [str(column) for column in named if column not in columns]
    if absent:
        raise ValueError(f"The table has no column {_quoted(absent)}; the columns are {_quoted(columns)}.")
    if features:
        if target in features:
            raise ValueError(f"The target '{target}' cannot also be a feature.")
        chosen = set(features) - set(drop)
    else:
        chosen = set(columns) - set(drop) - {target}
    ordered = [column for column in columns if column in chosen]
    if not ordered:
        raise ValueError("No feature columns are left to train on.")
    return ordered


def _kinds(frame: pd.DataFrame, schema: dict, columns: list[str]) -> dict[str, str]:
    """Each column's kind from the schema, inferred from the whole table where the schema gives none."""
    schema = schema or {}
    unknown = [column for column in columns if schema.get(column) not in KINDS]
    inferred = infer_schema(frame[unknown]) if unknown else {}
    return {column: schema[column] if schema.get(column) in KINDS else inferred[column] for column in columns}


def _resolve_task(y: pd.Series, estimator_cls: type, declared: str | None) -> str:
    probe = _default_instance(estimator_cls)
    if is_classifier(probe):
        kind = CLASSIFICATION
    elif is_regressor(probe):
        kind = REGRESSION
    else:
        raise ValueError(f"{estimator_cls.__name__} is neither a classifier nor a regressor; use one that is.")
    if declared is not None:
        if declared in TASKS and kind != declared:
            raise ValueError(f"{estimator_cls.__name__} is a {_noun(kind)}, but the task is {declared}.")
        return infer_task(y, declared)
    inferred = infer_task(y)
    if kind == REGRESSION:
        return infer_task(y, REGRESSION)
    if kind == CLASSIFICATION and inferred == REGRESSION:
        distinct = y.nunique()
        raise ValueError(
            f"{estimator_cls.__name__} is a classifier, but the target '{y.name}' holds continuous numbers "
            f"({distinct:,} distinct values); choose a regressor, or declare task: classification to treat "
            "each value as a class."
        )
    return kind or inferred


def _noun(task: str) -> str:
    return "classifier" if task == CLASSIFICATION else "regressor"


def _test_size(value) -> float | int:
    number = _number(value.strip()) if isinstance(value, str) else value
    if not isinstance(number, numbers.Real) or isinstance(number, bool) or number <= 0:
        raise ValueError(f"test_size must be a fraction between 0 and 1, not '{value}'.")
    return float(number) if number < 1 else int(number)


def _feature_schema(X_train: pd.DataFrame, kinds: dict[str, str]) -> list[dict]:
    entries = []
    for column in X_train.columns:
        series = X_train[column]
        if kinds[column] == NUMERIC:
            entries.append(
                {"name": column, "kind": NUMERIC, "min": json_float(series.min()), "max": json_float(series.max())}
            )
        else:
            top = series.value_counts(dropna=True).index[:FEATURE_SCHEMA_CATEGORIES]
            entries.append({"name": column, "kind": CATEGORICAL, "categories": [str(value) for value in top]})
    return entries


def _json_safe_params(params: dict) -> dict:
    return {str(name): _json_value(value) for name, value in params.items()}


def _json_value(value):
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        return json_float(value)
    if isinstance(value, list | tuple):
        return [_json_value(item) for item in value]
    if isinstance(value, dict):
        return {str(key): _json_value(item) for key, item in value.items()}
    if isinstance(value, np.ndarray):
        return [_json_value(item) for item in value.tolist()]
    # Estimator objects, callables and the like: their repr says what they were.
    return repr(value)


def json_float(value) -> float | None:
    """A plain float for JSON, or None for what is not a finite number."""
    if value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def library_versions() -> dict[str, str]:
    """Versions of Python and the libraries a model depends on, recorded for lineage and loading checks."""
    versions = {"python": platform.python_version()}
    for name, distribution in (
        ("sklearn", "scikit-learn"),
        ("numpy", "numpy"),
        ("pandas", "pandas"),
        ("scipy", "scipy"),
        ("skops", "skops"),
    ):
        try:
            versions[name] = importlib.metadata.version(distribution)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = None
    return versions
