"""Drift of one feature from binned counts: the reference (training profile) against a current window.

Everything here works on counts per bin, so a window of any size costs the same. Numeric bins are the
training quantile bins plus an underflow and an overflow bin; categorical bins are the training categories plus
"other"; missing values have a bin of their own in both.

Levels (DESIGN.md: two, so that moderate drift does not page anyone):

- numeric: PSI (warn 0.1, alert 0.25) and Wasserstein distance normalised by the reference standard deviation
  (warn 0.1, alert 0.2); below 1,000 current rows a binned KS test decides the warning (p < 0.05), since the
  distances are noisy on small samples;
- categorical: PSI and Jensen–Shannon distance (warn 0.1, alert 0.2), and a chi-square test that warns when
  p < 0.01 and some category's share moved by at least one percentage point. Flipping 10% of a binary column
  (owner yes ↔ no, 44% yes in the demo data) moves its share by 0.1 × (1 − 2 × 0.44) = 1.2 points, which the
  distances call noise (Jensen–Shannon 0.006); at a million rows every p-value is tiny, so the effect size must
  be there too. Under 1,000 rows the p-value alone rarely passes for so small a move: the test waits for rows.

No Django here: it is unit-tested alone.
"""

from __future__ import annotations

import math
from collections import Counter

import numpy as np
from scipy import stats

EPSILON = 1e-4  # stands in for an empty bin's share, so that PSI stays finite
DEFAULT_THRESHOLDS = {
    "psi": (0.1, 0.25),
    "distance": (0.1, 0.2),
    "ks_p": 0.05,
    "chi2_p": 0.01,
    "share_shift": 0.01,
    "small_sample": 1000,
    "share": 0.5,  # of drifted features, from which the data as a whole drifted
}


def shares(counts) -> np.ndarray:
    counts = np.asarray(counts, dtype="float64")
    total = counts.sum()
    return counts / total if total else counts


def psi(reference, current) -> float:
    """Population stability index: sum of (cur - ref) * ln(cur / ref) over bins."""
    p = np.clip(shares(reference), EPSILON, None)
    q = np.clip(shares(current), EPSILON, None)
    return float(np.sum((q - p) * np.log(q / p)))


def jensen_shannon(reference, current) -> float:
    """Jensen–Shannon distance (base 2, so between 0 and 1)."""
    p, q = shares(reference), shares(current)
    m = (p + q) / 2

    def kl(a, b):
        mask = a > 0
        return float(np.sum(a[mask] * np.log2(a[mask] / b[mask])))

    return math.sqrt(max(0.0, (kl(p, m) + kl(q, m)) / 2))


def bin_centres(edges) -> np.ndarray:
    """Centres of [underflow] + quantile bins + [overflow]; the outer bins sit half a bin beyond the edges."""
    edges = np.asarray(edges, dtype="float64")
    inner = (edges[:-1] + edges[1:]) / 2
    step = (edges[-1] - edges[0]) / max(1, len(edges) - 1) or 1.0
    return np.concatenate([[edges[0] - step / 2], inner, [edges[-1] + step / 2]])


def wasserstein_binned(edges, reference, current, std) -> float:
    """Earth mover's distance between the two binned distributions, in reference standard deviations."""
    centres = bin_centres(edges)
    p, q = shares(reference), shares(current)
    if p.sum() == 0 or q.sum() == 0:
        return 0.0
    distance = stats.wasserstein_distance(centres, centres, p, q)
    return float(distance / std) if std else float(distance)


def ks_binned(reference, current, n_reference, n_current) -> tuple[float, float]:
    """KS statistic from the binned CDFs, with the asymptotic p-value for the two sample sizes."""
    d = float(np.max(np.abs(np.cumsum(shares(reference)) - np.cumsum(shares(current)))))
    if not n_reference or not n_current:
        return d, 1.0
    effective = n_reference * n_current / (n_reference + n_current)
    return d, float(stats.kstwo.sf(d, max(1, round(effective))))


def chi_square(reference, current) -> tuple[float, float, float]:
    """Chi-square of the current counts against the reference shares: (statistic, p-value, largest share shift)."""
    p = shares(reference)
    observed = np.asarray(current, dtype="float64")
    n = observed.sum()
    keep = p > 0
    unseen = observed[~keep].sum()  # categories the reference never had: all of it is drift
    expected = np.clip(p[keep] * n, EPSILON, None)
    statistic = float(np.sum((observed[keep] - expected) ** 2 / expected))
    if unseen:
        statistic += float(unseen**2 / EPSILON)
    dof = max(1, int(keep.sum()) - 1)
    shift = float(np.max(np.abs(shares(current) - p))) if n else 0.0
    return statistic, float(stats.chi2.sf(statistic, dof)), shift


def _level(value, warn, alert):
    return "alert" if value >= alert else "warn" if value >= warn else "ok"


def _worse(a, b):
    order = {"ok": 0, "warn": 1, "alert": 2}
    return a if order[a] >= order[b] else b


def feature_drift(kind, reference, current, *, edges=None, std=None, thresholds=None) -> dict:
    """The drift of one feature: method, score, level and the numbers behind them."""
    limits = {**DEFAULT_THRESHOLDS, **(thresholds or {})}
    n_ref, n_cur = int(np.sum(reference)), int(np.sum(current))
    if n_cur == 0 or n_ref == 0:
        return {"method": "none", "score": None, "level": "ok", "rows": n_cur, "reason": "no rows to compare"}
    population = psi(reference, current)
    result = {"rows": n_cur, "psi": round(population, 6)}
    level = _level(population, *limits["psi"])
    if kind == "numeric":
        # Distances and KS compare the values present; the last bin (missing values) counts in PSI only.
        distance = wasserstein_binned(edges, reference[:-1], current[:-1], std)
        statistic, p_value = ks_binned(reference[:-1], current[:-1], n_ref, n_cur)
        result.update(wasserstein=round(distance, 6), ks=round(statistic, 6), ks_p_value=p_value)
        if n_cur < limits["small_sample"]:
            method, score = "ks", statistic
            level = _worse(level, "warn" if p_value < limits["ks_p"] else "ok")
        else:
            method, score = "wasserstein", distance
            level = _worse(level, _level(distance, *limits["distance"]))
    else:
        distance = jensen_shannon(reference, current)
        statistic, p_value, shift = chi_square(reference, current)
        result.update(jensen_shannon=round(distance, 6), chi2=round(statistic, 3), chi2_p_value=p_value)
        result["share_shift"] = round(shift, 6)
        if n_cur < limits["small_sample"]:
            method, score = "chi-square", p_value
        else:
            method, score = "jensen-shannon", distance
        level = _worse(level, _level(distance, *limits["distance"]))
        if p_value < limits["chi2_p"] and shift >= limits["share_shift"]:
            level = _worse(level, "warn")
    result.update(method=method, score=round(float(score), 6), level=level)
    return result


def overall(features: dict[str, dict], share_threshold=None) -> dict:
    """Share of features drifted (warn or alert) and whether the dataset as a whole drifted."""
    judged = [f for f in features.values() if f.get("method") != "none"]
    drifted = [f for f in judged if f["level"] != "ok"]
    share = len(drifted) / len(judged) if judged else 0.0
    share_threshold = DEFAULT_THRESHOLDS["share"] if share_threshold is None else share_threshold
    return {"share_drifted": round(share, 4), "dataset_drift": share >= share_threshold and bool(judged)}


EXACT_KS_MAX_N = 10_000  # scipy's ks_2samp computes the exact p-value up to this sample size, as here


def ks_and_wasserstein(ref: np.ndarray, cur: np.ndarray) -> tuple[float, float, float]:
    """Two-sample KS statistic and p-value, and the Wasserstein distance, of two sorted samples: the numbers of
    scipy's ``ks_2samp`` and ``wasserstein_distance``, in linear time on large samples.

    scipy looks each value of both samples up in both (a binary search per value, in random order); here both
    empirical CDFs are read on the sorted union of the distinct values, found by merging, so a million rows
    cost a few passes. Small samples go to ``ks_2samp`` itself, for its exact p-value."""
    n1, n2 = len(ref), len(cur)
    if max(n1, n2) <= EXACT_KS_MAX_N:
        test = stats.ks_2samp(ref, cur)
        return float(test.statistic), float(test.pvalue), float(stats.wasserstein_distance(ref, cur))
    points = np.sort(np.concatenate([_distinct(ref), _distinct(cur)]), kind="stable")  # a merge of two runs
    points = _distinct(points)
    gap = np.searchsorted(ref, points, side="right") / n1 - np.searchsorted(cur, points, side="right") / n2
    statistic = float(np.max(np.abs(gap)))
    distance = float(np.sum(np.abs(gap[:-1]) * np.diff(points)))
    m, n = max(n1, n2), min(n1, n2)
    p_value = float(np.clip(stats.kstwo.sf(statistic, np.round(m * n / (m + n))), 0, 1))  # Smirnov, as scipy
    return statistic, p_value, distance


def _distinct(values: np.ndarray) -> np.ndarray:
    """The distinct values of a sorted array."""
    if not len(values):
        return values
    return values[np.concatenate([[True], values[1:] != values[:-1]])]


def _numbers(values) -> np.ndarray:
    """The values present, as float64 (None and NaN left out)."""
    array = np.asarray(values, dtype="float64")  # None becomes NaN
    return array[~np.isnan(array)]


def _category_counts(values) -> Counter:
    """How many times each category occurs, as text (None and NaN left out)."""
    merged = Counter()
    for value, count in Counter(values).items():  # counted in C; most values are already text
        if value is not None and value == value:
            merged[str(value)] += count
    return merged


def exact_feature_drift(kind, reference, current, thresholds=None) -> dict:
    """Drift of one feature on the raw values (missing ones left out): scipy's two-sample KS test and the
    Wasserstein distance for numbers, a chi-square test of the current counts against the reference shares and
    the Jensen–Shannon distance for categories. Levels follow the binned ones: by effect size on large samples,
    by p-value on small ones."""
    limits = {**DEFAULT_THRESHOLDS, **(thresholds or {})}
    if kind == "numeric":
        ref, cur = np.sort(_numbers(reference)), np.sort(_numbers(current))
        if not len(ref) or not len(cur):
            return {"method": "none", "rows": len(cur), "level": "ok", "reason": "no values to compare"}
        statistic, p_value, distance = ks_and_wasserstein(ref, cur)
        std = float(np.std(ref, ddof=1)) if len(ref) > 1 else 0.0
        distance = distance / (std or 1.0)
        if len(cur) < limits["small_sample"]:
            level, method, score = ("warn" if p_value < limits["ks_p"] else "ok"), "ks", statistic
        else:
            level, method, score = _level(distance, *limits["distance"]), "wasserstein", distance
        return {
            "method": method,
            "score": round(score, 6),
            "level": level,
            "rows": int(len(cur)),
            "ks": statistic,
            "ks_p_value": p_value,
            "wasserstein": round(distance, 6),
        }
    ref, cur = _category_counts(reference), _category_counts(current)
    rows = sum(cur.values())
    if not ref or not cur:
        return {"method": "none", "rows": rows, "level": "ok", "reason": "no values to compare"}
    categories = sorted(ref.keys() | cur.keys())
    ref_counts = np.array([ref[c] for c in categories])
    cur_counts = np.array([cur[c] for c in categories])
    statistic, p_value, shift = chi_square(ref_counts, cur_counts)
    distance = jensen_shannon(ref_counts, cur_counts)
    level = _level(distance, *limits["distance"])
    if p_value < limits["chi2_p"] and shift >= limits["share_shift"]:
        level = _worse(level, "warn")
    return {
        "method": "chi-square" if rows < limits["small_sample"] else "jensen-shannon",
        "score": round(float(p_value if rows < limits["small_sample"] else distance), 6),
        "level": level,
        "rows": rows,
        "chi2": float(statistic),
        "chi2_p_value": float(p_value),
        "jensen_shannon": round(distance, 6),
        "share_shift": round(shift, 6),
    }
