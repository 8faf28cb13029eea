"""Performance estimated before the labels arrive, from the scores alone (confidence-based estimation).

The evaluate step stores the model's calibration curve on its held-out test split: for bins of predicted score,
the share of rows that were in fact positive. Read as a monotone map (made non-decreasing the way isotonic
regression would, by pooling adjacent violators), it turns each live score into the probability that the row is
positive. Over a window's score histogram (from the rollups) that gives the expected confusion matrix at the
decision threshold, hence expected accuracy, precision and recall, and the expected ROC curve over the
histogram's thresholds, hence expected ROC AUC. It holds while the relation between scores and outcomes is the
one seen in testing: under concept drift only the labels tell.

No Django here: it is unit-tested alone.
"""

from __future__ import annotations

import numpy as np


def pool_adjacent_violators(values, weights) -> np.ndarray:
    """The non-decreasing sequence closest to ``values`` in weighted least squares (isotonic regression)."""
    blocks = []  # (mean, weight, length)
    for value, weight in zip(values, weights, strict=True):
        blocks.append([float(value), float(weight), 1])
        while len(blocks) > 1 and blocks[-2][0] > blocks[-1][0]:
            v2, w2, n2 = blocks.pop()
            v1, w1, n1 = blocks.pop()
            w = w1 + w2
            blocks.append([(v1 * w1 + v2 * w2) / w if w else (v1 + v2) / 2, w, n1 + n2])
    return np.concatenate([[v] * n for v, _, n in blocks]) if blocks else np.array([])


def calibration_map(evaluation: dict):
    """(score points, positive probability) from a version's stored calibration curve, or None."""
    curve = ((evaluation or {}).get("curves") or {}).get("calibration")
    if not curve or not curve.get("mean_predicted"):
        return None
    x = np.asarray(curve["mean_predicted"], dtype="float64")
    y = np.asarray(curve["fraction_positive"], dtype="float64")
    order = np.argsort(x)
    return x[order], pool_adjacent_violators(y[order], np.ones(len(order)))


def estimate(score_counts, evaluation, threshold=0.5) -> dict | None:
    """Expected accuracy, precision, recall and ROC AUC of the rows in a score histogram (equal bins over 0–1)."""
    mapping = calibration_map(evaluation)
    counts = np.asarray(score_counts, dtype="float64")
    if mapping is None or counts.sum() == 0:
        return None
    centres = (np.arange(len(counts)) + 0.5) / len(counts)
    positive = np.clip(np.interp(centres, *mapping), 0.0, 1.0)
    expected_pos, expected_neg = counts * positive, counts * (1 - positive)
    predicted = centres >= threshold
    tp, fp = expected_pos[predicted].sum(), expected_neg[predicted].sum()
    fn, tn = expected_pos[~predicted].sum(), expected_neg[~predicted].sum()
    total = counts.sum()
    result = {
        "rows": int(total),
        "accuracy": round(float((tp + tn) / total), 4),
        "precision": round(float(tp / (tp + fp)), 4) if tp + fp else None,
        "recall": round(float(tp / (tp + fn)), 4) if tp + fn else None,
    }
    # ROC over the histogram's thresholds, highest score first; ties within a bin count as half.
    pos_total, neg_total = expected_pos.sum(), expected_neg.sum()
    if pos_total and neg_total:
        tpr = np.concatenate([[0.0], np.cumsum(expected_pos[::-1]) / pos_total])
        fpr = np.concatenate([[0.0], np.cumsum(expected_neg[::-1]) / neg_total])
        result["roc_auc"] = round(float(np.trapezoid(tpr, fpr)), 4)
    return result
