"""The bins live values are counted in, taken from a model version's training profile.

Numeric: ``[underflow] + training quantile bins + [overflow] + [missing]``; categorical: ``training categories +
[other] + [missing]``. ``reference_bins`` gives each feature's bins with the training counts in the same layout,
``count`` counts a list of live values into them.

No Django here: it is unit-tested alone.
"""

from __future__ import annotations

import numpy as np

from pipelines_app.ml.datasets import OTHER_CATEGORY


def reference_bins(reference_profile: dict, feature_schema: list[dict]) -> dict[str, dict]:
    profile = (reference_profile or {}).get("columns_profile", {})
    specs = {}
    for entry in feature_schema:
        name, column = entry["name"], profile.get(entry["name"])
        if column is None:
            continue
        missing = int(column.get("missing") or 0)
        if entry["kind"] == "numeric":
            edges = column.get("bin_edges") or []
            if len(edges) < 2:
                continue
            reference = [0, *column.get("bin_counts", []), 0, missing]
            specs[name] = {"kind": "numeric", "edges": edges, "std": column.get("std"), "reference": reference}
        else:
            frequencies = dict(column.get("frequencies") or {})
            other = int(frequencies.pop(OTHER_CATEGORY, 0))
            categories = list(frequencies)
            reference = [int(frequencies[c]) for c in categories] + [other, missing]
            specs[name] = {"kind": "categorical", "categories": categories, "reference": reference}
    return specs


def labels(spec: dict) -> list[str]:
    """A name for each bin, for tables and charts."""
    if spec["kind"] == "numeric":
        edges = spec["edges"]
        inner = [f"{edges[i]:.4g}–{edges[i + 1]:.4g}" for i in range(len(edges) - 1)]
        return [f"< {edges[0]:.4g}", *inner, f"> {edges[-1]:.4g}", "missing"]
    return [*spec["categories"], "other", "missing"]


def indices(spec: dict, values: list) -> np.ndarray:
    """The bin of each of ``values`` (None for missing), in the layout of ``spec``."""
    if spec["kind"] == "numeric":
        edges = np.asarray(spec["edges"], dtype="float64")
        array = np.asarray(values, dtype="float64")  # None becomes NaN
        missing = np.isnan(array)
        # numpy.histogram's rule, as the training counts: [a, b) except the last bin, which is closed.
        index = np.searchsorted(edges, array, side="right")  # 0: underflow ... len(edges): overflow
        index[array == edges[-1]] = len(edges) - 1
        index[missing] = len(edges) + 1
        return index
    positions = {category: i for i, category in enumerate(spec["categories"])}
    other, missing = len(positions), len(positions) + 1
    found = (missing if value is None else positions.get(value, other) for value in values)
    return np.fromiter(found, dtype=np.int64, count=len(values))


def count(spec: dict, values: list, weights=None) -> list[int]:
    """Counts of ``values`` (None for missing) in the bins of ``spec``; with ``weights`` (0/1 per value), the
    count of those weighted 1 (e.g. the rows predicted positive)."""
    size = len(spec["edges"]) + 2 if spec["kind"] == "numeric" else len(spec["categories"]) + 2
    if not len(values):
        return [0] * size
    counts = np.bincount(indices(spec, values), weights=weights, minlength=size)
    return [int(c) for c in counts]


def groups(spec: dict) -> list[tuple[str, list[int]]]:
    """Groups for fairness, as (name, bins): each category (and "other", "missing"); numbers in quartiles of the
    training rows (the outer bins join the first and last quartile), and "missing"."""
    names = labels(spec)
    if spec["kind"] != "numeric":
        return [(name, [i]) for i, name in enumerate(names)]
    reference = np.asarray(spec["reference"][1:-2], dtype="float64")  # the training quantile bins
    before = np.concatenate([[0.0], np.cumsum(reference)[:-1]]) / (reference.sum() or 1)
    quartile = np.minimum(3, (before * 4 + 1e-9).astype(int))
    edges = spec["edges"]
    result = []
    for q in sorted(set(quartile.tolist())):
        members = [int(i) + 1 for i in np.flatnonzero(quartile == q)]
        first, last = members[0], members[-1]
        name = f"{edges[first - 1]:.4g}–{edges[last]:.4g}"
        if q == quartile.min():
            members = [0, *members]
        if q == quartile.max():
            members = [*members, len(edges)]
        result.append((name, members))
    return [*result, ("missing", [len(edges) + 1])]
