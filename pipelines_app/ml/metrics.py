"""Score a trained model: metrics, curves, feature importance, fairness by group, and a leakage scan.

``evaluate_model`` is the entry point of the ``evaluate`` step; ``leakage_scan`` serves ``validate_data``.

Conventions that callers can rely on:

- Every number is JSON-safe: plain Python floats and ints, and None where a value does not exist (the ROC AUC
  of a test set holding one class, a log loss without probabilities), never NaN or infinity.
- Binary classification predicts the positive label when its probability is at least ``threshold``.
  Confusion matrices have the true labels as rows and the predicted labels as columns, in the order of
  ``labels`` (binary: negative, then positive).
- Curves keep at most 200 points, evenly spread over the full curve, including both ends.
- Fairness compares groups of one sensitive feature: numeric features with more than 10 distinct values are cut
  into quartiles (fewer bins where quartile edges coincide), categorical ones keep their 20 most frequent
  categories and merge the rest into "__other__"; missing values form the group "(missing)".

It imports no Django so that it can be unit-tested alone.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
from pandas.api.types import is_bool_dtype, is_numeric_dtype
from scipy.stats import spearmanr
from sklearn.calibration import calibration_curve
from sklearn.exceptions import UndefinedMetricWarning
from sklearn.inspection import permutation_importance
from sklearn.metrics import (
    average_precision_score,
    log_loss,
    mean_absolute_error,
    precision_recall_curve,
    precision_recall_fscore_support,
    r2_score,
    roc_auc_score,
    roc_curve,
)
from sklearn.metrics import confusion_matrix as sklearn_confusion_matrix
from sklearn.model_selection import KFold

from pipelines_app.ml.datasets import KINDS, NUMERIC, OTHER_CATEGORY, apply_schema, infer_schema
from pipelines_app.ml.training import (
    CLASSIFICATION,
    REGRESSION,
    as_labels,
    infer_task,
    json_float,
    label_text,
    prepare_target,
    sort_labels,
)

MAX_CURVE_POINTS = 200
CALIBRATION_BINS = 10
RESIDUAL_BINS = 30
# Test-split scores of the positive class are counted in this many equal bins over 0–1.
SCORE_HISTOGRAM_BINS = 20
# Numeric sensitive features with more distinct values than this are cut into quartiles.
MAX_GROUP_VALUES = 10
MAX_GROUPS = 20
MISSING_GROUP = "(missing)"
LEAKAGE_FOLDS = 5


# Classification ---------------------------------------------------------------------------------------------


def classification_metrics(y_true, proba_or_scores, classes, positive_label=None, threshold=0.5) -> dict:
    """Metrics of a classifier from its scores on labelled rows.

    ``proba_or_scores`` is either a matrix with one column per entry of ``classes`` (``predict_proba`` with
    ``classes_``) or, for a binary task, one score per row for the positive label. A binary task (two classes)
    gives accuracy, precision, recall, f1, ROC AUC, PR AUC (average precision), log loss, the confusion matrix
    and ROC, PR and calibration curves; a multi-class one gives accuracy, macro precision, recall and f1,
    one-vs-rest ROC AUC, log loss and the confusion matrix. Scores that are not probabilities (decision
    functions) give no log loss or calibration; ``threshold`` must then be on their scale.
    """
    classes = [label_text(label) for label in classes]
    y_true = as_labels(y_true).to_numpy(dtype=object)
    scores = np.asarray(proba_or_scores, dtype="float64")
    if len(classes) == 2:
        positive = label_text(positive_label) if positive_label is not None else sort_labels(classes)[-1]
        if positive not in classes:
            raise ValueError(f"The positive label '{positive}' is not one of the classes {classes}.")
        if scores.ndim == 2:
            scores = scores[:, classes.index(positive)]
        negative = classes[1 - classes.index(positive)]
        return _binary_metrics(y_true, scores, negative, positive, threshold)
    if scores.ndim != 2 or scores.shape[1] != len(classes):
        raise ValueError("A multi-class model needs one score column per class.")
    return _multiclass_metrics(y_true, scores, classes)


def _binary_metrics(y_true, scores, negative: str, positive: str, threshold: float) -> dict:
    actual = y_true == positive
    predicted = scores >= threshold
    tp = int(np.sum(actual & predicted))
    fp = int(np.sum(~actual & predicted))
    fn = int(np.sum(actual & ~predicted))
    tn = int(np.sum(~actual & ~predicted))
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    both_classes = 0 < actual.sum() < actual.size
    probabilities = _are_probabilities(scores)
    result = {
        "accuracy": json_float((tp + tn) / actual.size) if actual.size else None,
        "precision": json_float(precision),
        "recall": json_float(recall),
        "f1": json_float(2 * precision * recall / (precision + recall)) if precision + recall else 0.0,
        "roc_auc": json_float(roc_auc_score(actual, scores)) if both_classes else None,
        "pr_auc": json_float(average_precision_score(actual, scores)) if actual.any() else None,
        "log_loss": json_float(log_loss(actual, scores, labels=[False, True]))
        if probabilities and actual.size
        else None,
        "confusion_matrix": {"labels": [negative, positive], "matrix": [[tn, fp], [fn, tp]]},
        "curves": {"roc": None, "pr": None, "calibration": None},
    }
    if both_classes:
        fpr, tpr, thresholds = roc_curve(actual, scores)
        result["curves"]["roc"] = _curve(fpr=fpr, tpr=tpr, thresholds=thresholds)
        precision_points, recall_points, _ = precision_recall_curve(actual, scores)
        result["curves"]["pr"] = _curve(precision=precision_points, recall=recall_points)
        if probabilities:
            fraction, mean = calibration_curve(actual, scores, n_bins=CALIBRATION_BINS)
            result["curves"]["calibration"] = _curve(mean_predicted=mean, fraction_positive=fraction)
    return result


def _multiclass_metrics(y_true, scores, classes: list[str]) -> dict:
    predicted = np.asarray(classes, dtype=object)[np.argmax(scores, axis=1)]
    # Macro averages over the labels that occur (actual or predicted), as scikit-learn does by default: a class
    # absent from the test rows would otherwise count as a recall of 0.
    precision, recall, f1, _ = precision_recall_fscore_support(y_true, predicted, average="macro", zero_division=0)
    probabilities = _are_probabilities(scores) and np.allclose(scores.sum(axis=1), 1.0, atol=1e-6)
    matrix = sklearn_confusion_matrix(y_true, predicted, labels=classes) if y_true.size else np.zeros((0, 0))
    return {
        "accuracy": json_float(np.mean(predicted == y_true)) if y_true.size else None,
        "precision": json_float(precision),
        "recall": json_float(recall),
        "f1": json_float(f1),
        "roc_auc": _attempt(lambda: roc_auc_score(y_true, scores, multi_class="ovr", labels=classes))
        if probabilities
        else None,
        "log_loss": _attempt(lambda: log_loss(y_true, scores, labels=classes)) if probabilities else None,
        "confusion_matrix": {"labels": classes, "matrix": [[int(n) for n in row] for row in matrix]},
        "curves": {},
    }


def _are_probabilities(scores: np.ndarray) -> bool:
    return bool(scores.size and np.all(np.isfinite(scores)) and scores.min() >= 0.0 and scores.max() <= 1.0)


def _attempt(compute) -> float | None:
    """A metric that scikit-learn cannot always compute (a class absent from the test rows): None then."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UndefinedMetricWarning)
            return json_float(compute())
    except ValueError:
        return None


def _curve(**columns) -> dict:
    """The curve's columns thinned to at most ``MAX_CURVE_POINTS`` points, as JSON-safe lists."""
    length = len(next(iter(columns.values())))
    if length > MAX_CURVE_POINTS:
        keep = np.unique(np.linspace(0, length - 1, MAX_CURVE_POINTS).round().astype(int))
    else:
        keep = np.arange(length)
    return {name: [json_float(value) for value in np.asarray(values)[keep]] for name, values in columns.items()}


# Regression -------------------------------------------------------------------------------------------------


def regression_metrics(y_true, y_pred) -> dict:
    """RMSE, MAE and R² of predictions, and a histogram of the residuals (actual minus predicted) for a chart."""
    actual = np.asarray(y_true, dtype="float64")
    predicted = np.asarray(y_pred, dtype="float64")
    if actual.size == 0:
        return {"rmse": None, "mae": None, "r2": None, "residuals": {"edges": [], "counts": []}}
    residuals = actual - predicted
    finite = residuals[np.isfinite(residuals)]
    bins = max(1, min(RESIDUAL_BINS, len(np.unique(finite))))
    counts, edges = np.histogram(finite, bins=bins) if finite.size else (np.zeros(0), np.zeros(0))
    return {
        "rmse": json_float(math.sqrt(np.mean(residuals**2))),
        "mae": json_float(mean_absolute_error(actual, predicted)),
        "r2": json_float(r2_score(actual, predicted)) if actual.size >= 2 else None,
        "residuals": {"edges": [json_float(edge) for edge in edges], "counts": [int(count) for count in counts]},
    }


# Feature importance -----------------------------------------------------------------------------------------


def permutation_importance_report(
    pipeline, X: pd.DataFrame, y, task: str, random_state=0, n_repeats=5, max_rows=2000
) -> list[dict]:
    """How much the score drops when each original column is shuffled, largest first.

    The whole pipeline is scored, so importances belong to the columns users know rather than to one-hot
    indicators. Scoring is ROC AUC for binary classifiers that give scores, accuracy for other classifiers, R²
    for regressors. At most ``max_rows`` rows (a seeded sample) are used to bound the time taken.
    """
    y = as_labels(y) if task == CLASSIFICATION else pd.Series(y, dtype="float64")
    y = y.set_axis(X.index)
    if len(X) > max_rows:
        chosen = np.random.default_rng(random_state).choice(len(X), size=max_rows, replace=False)
        X, y = X.iloc[np.sort(chosen)], y.iloc[np.sort(chosen)]
    if len(X) < 2:
        return []
    if task == REGRESSION:
        scoring = "r2"
    elif (
        len(getattr(pipeline, "classes_", ())) == 2
        and y.nunique() == 2
        and (hasattr(pipeline, "predict_proba") or hasattr(pipeline, "decision_function"))
    ):
        scoring = "roc_auc"
    else:
        scoring = "accuracy"
    result = permutation_importance(
        pipeline, X, y, scoring=scoring, n_repeats=n_repeats, random_state=random_state, n_jobs=None
    )
    report = [
        {"feature": str(column), "importance": json_float(mean) or 0.0, "std": json_float(std) or 0.0}
        for column, mean, std in zip(X.columns, result.importances_mean, result.importances_std, strict=True)
    ]
    return sorted(report, key=lambda row: row["importance"], reverse=True)


# Fairness ---------------------------------------------------------------------------------------------------


def fairness_report(y_true, y_pred, groups: pd.Series, positive_label) -> dict:
    """Selection rate and true positive rate per group of one sensitive feature, and the gaps between groups.

    ``demographic_parity_difference`` is the largest minus the smallest selection rate (share predicted
    positive); ``equal_opportunity_difference`` the same for the true positive rate, over the groups that hold
    positives (a group without any has a true positive rate of None). The module docstring says how groups are
    formed.
    """
    positive = label_text(positive_label)
    actual = as_labels(y_true).to_numpy(dtype=object) == positive
    predicted = as_labels(y_pred).to_numpy(dtype=object) == positive
    names, order = _groups(groups)
    rows = []
    for name in order:
        member = names == name
        count = int(member.sum())
        if not count:
            continue
        positives = actual & member
        rows.append(
            {
                "group": name,
                "count": count,
                "selection_rate": json_float(predicted[member].mean()),
                "true_positive_rate": json_float(predicted[positives].mean()) if positives.any() else None,
            }
        )
    selection = [row["selection_rate"] for row in rows]
    tpr = [row["true_positive_rate"] for row in rows if row["true_positive_rate"] is not None]
    return {
        "feature": str(groups.name),
        "groups": rows,
        "demographic_parity_difference": json_float(max(selection) - min(selection)) if selection else None,
        "equal_opportunity_difference": json_float(max(tpr) - min(tpr)) if tpr else None,
    }


def _groups(groups: pd.Series) -> tuple[np.ndarray, list[str]]:
    """Each row's group name, and the groups in display order."""
    values = groups.reset_index(drop=True)
    missing = values.isna().to_numpy()
    numeric = is_numeric_dtype(values.dtype) and not is_bool_dtype(values.dtype)
    if numeric and values.nunique() > MAX_GROUP_VALUES:
        numbers = values.astype("float64")
        bins = pd.qcut(numbers, 4, duplicates="drop")
        edges = [numbers.min()] + [interval.right for interval in bins.cat.categories]
        # qcut lowers the first edge a little so that the minimum falls inside; people expect the minimum itself.
        order = [f"{low:g} to {high:g}" for low, high in zip(edges, edges[1:], strict=False)]
        names = np.where(missing, MISSING_GROUP, np.asarray(order + [MISSING_GROUP], dtype=object)[bins.cat.codes])
    else:
        text = as_labels(values)
        counts = text.value_counts(dropna=True)
        kept = set(counts.index[:MAX_GROUPS])
        names = np.where(missing, MISSING_GROUP, np.where(text.isin(kept), text.astype(object), OTHER_CATEGORY))
        order = sort_labels(kept) + ([OTHER_CATEGORY] if len(counts) > MAX_GROUPS else [])
    return names.astype(object), order + [MISSING_GROUP]


# The evaluate step ------------------------------------------------------------------------------------------


def evaluate_model(
    pipeline,
    X_test: pd.DataFrame,
    y_test,
    *,
    task: str,
    target_info: dict | None,
    sensitive: pd.DataFrame | list[str] | None = None,
    threshold: float | None = None,
    costs: dict | None = None,
    random_state: int = 0,
) -> dict:
    """Everything the evaluate step records about a model, scored on its test rows.

    ``sensitive`` holds the sensitive features: a DataFrame aligned with ``X_test`` (for columns that were not
    features, e.g. ``frame.loc[X_test.index, names]``), or names of ``X_test`` columns. ``threshold`` defaults to
    0.5 on probabilities (0 on decision scores for models without probabilities); with ``costs``
    (``{"false_positive", "false_negative"}``) and a binary classifier with probabilities, it is the threshold of
    least expected cost on the test rows (``cost_curve``), reported as ``threshold`` and ``expected_cost`` among
    the metrics, the curve as ``cost_curve``, and every other metric is read at it.

    Returns ``{"metrics": {...}, "curves": {...}, "confusion_matrix": {...} | None, "feature_importance": [...],
    "fairness": [...]}``. ``metrics`` is flat and holds numbers only (a metric that cannot be computed is left
    out), with ``demographic_parity_difference`` and ``equal_opportunity_difference`` the largest over the
    sensitive features; fairness is reported for binary classification only, where a positive outcome exists.
    """
    if task == REGRESSION:
        predictions = pipeline.predict(X_test)
        scored = regression_metrics(pd.Series(y_test, dtype="float64"), predictions)
        return {
            "metrics": _numbers_only({key: scored[key] for key in ("rmse", "mae", "r2")}),
            "curves": {"residuals": scored["residuals"]},
            "confusion_matrix": None,
            "feature_importance": permutation_importance_report(pipeline, X_test, y_test, task, random_state),
            "fairness": [],
        }

    classes = [label_text(label) for label in pipeline.classes_]
    target_info = target_info or {}
    binary = len(target_info.get("classes") or classes) == 2
    if hasattr(pipeline, "predict_proba"):
        scores = pipeline.predict_proba(X_test)
        threshold = 0.5 if threshold is None else threshold
    else:
        scores = pipeline.decision_function(X_test)
        threshold = 0.0 if threshold is None else threshold
        if binary and np.ndim(scores) == 1:
            # A binary decision function scores the second class; make it a score for the positive label.
            positive = label_text(target_info.get("positive_label") or classes[-1])
            scores = scores if positive == classes[-1] else -scores
            classes = [label for label in classes if label != positive] + [positive]
    curve = None
    if costs and binary and hasattr(pipeline, "predict_proba"):
        named = target_info.get("positive_label")
        positive = label_text(named) if named is not None else sort_labels(classes)[-1]
        groups = {series.name: series.to_numpy() for series in _sensitive_columns(sensitive, X_test)}
        curve = cost_curve(
            np.array([label_text(y) == positive for y in y_test]),
            scores[:, classes.index(positive)],
            false_positive=float(costs.get("false_positive", 0)),
            false_negative=float(costs.get("false_negative", 0)),
            groups=groups,
        )
        threshold = curve["chosen"]["threshold"]
    scored = classification_metrics(y_test, scores, classes, target_info.get("positive_label"), threshold)
    metrics = {key: value for key, value in scored.items() if key not in ("confusion_matrix", "curves")}
    if curve is not None:
        metrics["threshold"] = threshold
        metrics["expected_cost"] = curve["chosen"]["expected_cost"]
    fairness = []
    score_histogram = None
    if binary:
        positive = scored["confusion_matrix"]["labels"][1]
        score_column = scores[:, classes.index(positive)] if np.ndim(scores) == 2 else scores
        predicted = np.where(score_column >= threshold, positive, scored["confusion_matrix"]["labels"][0])
        if hasattr(pipeline, "predict_proba"):
            # The reference for prediction drift: live scores are counted in the same bins (monitoring rollups).
            counts, _ = np.histogram(np.clip(score_column, 0, 1), bins=SCORE_HISTOGRAM_BINS, range=(0, 1))
            score_histogram = [int(c) for c in counts]
        for groups in _sensitive_columns(sensitive, X_test):
            fairness.append(fairness_report(y_test, predicted, groups, positive))
        for key in ("demographic_parity_difference", "equal_opportunity_difference"):
            values = [report[key] for report in fairness if report[key] is not None]
            metrics[key] = max(values) if values else None
    return {
        "metrics": _numbers_only(metrics),
        "curves": scored["curves"],
        "confusion_matrix": scored["confusion_matrix"],
        "feature_importance": permutation_importance_report(pipeline, X_test, y_test, task, random_state),
        "fairness": fairness,
        "score_histogram": score_histogram,
        "cost_curve": curve,
    }


def _sensitive_columns(sensitive, X_test: pd.DataFrame) -> list[pd.Series]:
    if sensitive is None:
        return []
    if isinstance(sensitive, pd.DataFrame):
        if len(sensitive) != len(X_test):
            raise ValueError("The sensitive features must have one row per test row.")
        return [sensitive[column].rename(column) for column in sensitive.columns]
    names = [sensitive] if isinstance(sensitive, str) else list(sensitive)
    absent = [name for name in names if name not in X_test.columns]
    if absent:
        raise ValueError(f"The sensitive features {', '.join(absent)} are not columns of the test rows.")
    return [X_test[name] for name in names]


def _numbers_only(metrics: dict) -> dict:
    return {key: value for key, value in metrics.items() if isinstance(value, int | float) and value is not None}


# Leakage ----------------------------------------------------------------------------------------------------


def leakage_scan(
    frame: pd.DataFrame, target: str, schema: dict, positive_label=None, threshold=0.98, max_rows=20000
) -> list[dict]:
    """Columns that alone predict the target almost perfectly, a sign that they leak it; highest score first.

    For a classification target each column is scored by how well it separates the labels on its own, as a ROC
    AUC read in whichever direction is better: a numeric column by its values (missing values ranked below all
    others), a categorical one by each category's rate of the label, learned on other rows (5 folds) so that an
    identifier column does not score by memorising rows. A multi-class target averages the one-vs-rest scores,
    weighted by label frequency. For a regression target the score is the absolute Spearman correlation, with
    categories replaced by their mean target learned on other rows. Columns scoring at least ``threshold`` are
    returned as ``{"column", "score"}``. At most ``max_rows`` rows (a seeded sample) are read.
    """
    threshold = 0.98 if threshold is None else float(threshold)
    if target not in frame.columns:
        raise ValueError(f"The target '{target}' is not a column of the table.")
    columns = [column for column in frame.columns if column != target]
    schema = schema or {}
    guessed = infer_schema(frame[[c for c in frame.columns if schema.get(c) not in KINDS]])
    kinds = {column: schema[column] if schema.get(column) in KINDS else guessed[column] for column in frame.columns}
    typed = apply_schema(frame, kinds)
    if len(typed) > max_rows:
        typed = typed.sample(n=max_rows, random_state=0)
    try:
        task = infer_task(typed[target])
        y, info = prepare_target(typed[target].reset_index(drop=True), task)
    except ValueError:
        # A target without values or with a single label cannot be separated by anything; there is no leak.
        return []
    if positive_label is not None and label_text(positive_label) not in (info["classes"] or []):
        raise ValueError(f"The positive label '{label_text(positive_label)}' does not occur in the target '{target}'.")
    rows = typed.iloc[y.index.to_numpy()].reset_index(drop=True)
    y = y.reset_index(drop=True)
    if task == CLASSIFICATION:
        labels = y.to_numpy(dtype=object)
        if info["positive_label"] is not None:
            weights = {info["positive_label"]: 1.0}
        else:
            weights = (y.value_counts(normalize=True)).to_dict()
        targets = {label: (labels == label).astype("float64") for label in weights}
    else:
        values = y.to_numpy(dtype="float64")
    flagged = []
    for column in columns:
        series = rows[column]
        if series.isna().all():
            continue
        if task == CLASSIFICATION:
            score = sum(
                weight * _separation(series, kinds[column], targets[label]) for label, weight in weights.items()
            )
        else:
            score = _correlation(series, kinds[column], values)
        if score is not None and score >= threshold:
            flagged.append({"column": str(column), "score": json_float(score)})
    return sorted(flagged, key=lambda hit: hit["score"], reverse=True)


def _separation(series: pd.Series, kind: str, is_label: np.ndarray) -> float:
    """ROC AUC of the column alone for one label against the rest, in the better direction (0.5 to 1)."""
    if not 0 < is_label.sum() < is_label.size:
        return 0.5
    if kind == NUMERIC:
        values = series.to_numpy(dtype="float64", na_value=np.nan)
        present = values[~np.isnan(values)]
        score = np.where(np.isnan(values), present.min() - 1.0, values)
    else:
        score = _out_of_fold_means(series, is_label)
    auc = roc_auc_score(is_label, score)
    return max(auc, 1.0 - auc)


def _correlation(series: pd.Series, kind: str, target: np.ndarray) -> float | None:
    if kind == NUMERIC:
        values = series.to_numpy(dtype="float64", na_value=np.nan)
        present = ~np.isnan(values)
        values, target = values[present], target[present]
    else:
        values = _out_of_fold_means(series, target)
    if values.size < 3 or np.ptp(values) == 0 or np.ptp(target) == 0:
        return None
    correlation = spearmanr(values, target).statistic
    return abs(float(correlation)) if np.isfinite(correlation) else None


def _out_of_fold_means(series: pd.Series, target: np.ndarray) -> np.ndarray:
    """Each row's category mean of the target, computed on the other folds (the overall mean for unseen ones)."""
    codes, _ = pd.factorize(series, use_na_sentinel=False)
    size = int(codes.max()) + 1
    means = np.empty(target.size, dtype="float64")
    folds = KFold(n_splits=min(LEAKAGE_FOLDS, target.size), shuffle=True, random_state=0)
    for learn, score in folds.split(target):
        sums = np.bincount(codes[learn], weights=target[learn], minlength=size)
        counts = np.bincount(codes[learn], minlength=size)
        overall = target[learn].mean()
        with np.errstate(invalid="ignore", divide="ignore"):
            per_category = np.where(counts > 0, sums / np.maximum(counts, 1), overall)
        means[score] = per_category[codes[score]]
    return means


# Decision threshold by cost -------------------------------------------------------------------------------------

COST_CURVE_POINTS = 101


def cost_curve(is_positive, score, *, false_positive: float, false_negative: float, groups=None) -> dict:
    """The expected cost per scored row of every decision threshold (predict positive when ``score >= t``) and the
    threshold that minimises it, found exactly over every distinct score (and "no one positive").

    ``is_positive``: the true labels as booleans; ``groups``: {feature: values aligned with ``score``} whose
    approval rates at the chosen threshold are reported. Returns ``{"costs", "thresholds", "expected_cost",
    "approval_rate"`` (the curve on a 0..1 grid, for the chart), ``"chosen": {"threshold", "expected_cost",
    "approval_rate", "by_group"}}``; ties go to the higher threshold (fewer positives)."""
    score = np.asarray(score, dtype=np.float64)
    is_positive = np.asarray(is_positive, dtype=bool)
    n = len(score)
    if n == 0:
        raise ValueError("No rows to choose a threshold on.")
    order = np.argsort(-score, kind="stable")
    ordered, positives = score[order], is_positive[order]
    ends = np.r_[np.nonzero(np.diff(ordered))[0], n - 1]  # the last row of each run of equal scores
    true_positives = np.r_[0, np.cumsum(positives)[ends]]
    false_positives = np.r_[0, np.cumsum(~positives)[ends]]
    false_negatives = int(positives.sum()) - true_positives
    costs = (false_positives * false_positive + false_negatives * false_negative) / n
    cuts = np.r_[np.nextafter(ordered[0], np.inf), ordered[ends]]
    best = int(np.argmin(costs))
    threshold = float(cuts[best])

    grid = np.linspace(0.0, 1.0, COST_CURVE_POINTS)
    ascending = np.sort(score)
    predicted = n - np.searchsorted(ascending, grid, side="left")  # rows with score >= t
    sorted_positive = is_positive[np.argsort(score, kind="stable")]
    positives_below = np.r_[0, np.cumsum(sorted_positive)][np.searchsorted(ascending, grid, side="left")]
    grid_fn = positives_below
    grid_fp = predicted - (int(is_positive.sum()) - positives_below)
    chosen_positive = score >= threshold
    by_group = {}
    for name, values in (groups or {}).items():
        labels = np.array(["" if v is None or v != v else str(v) for v in values])  # "": missing
        by_group[name] = {group: float(chosen_positive[labels == group].mean()) for group in sorted(set(labels) - {""})}
    return {
        "costs": {"false_positive": float(false_positive), "false_negative": float(false_negative)},
        "thresholds": grid.tolist(),
        "expected_cost": ((grid_fp * false_positive + grid_fn * false_negative) / n).tolist(),
        "approval_rate": (predicted / n).tolist(),
        "chosen": {
            "threshold": threshold,
            "expected_cost": float(costs[best]),
            "approval_rate": float(chosen_positive.mean()),
            "by_group": by_group,
        },
    }
