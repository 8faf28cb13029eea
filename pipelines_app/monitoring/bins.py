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


def count(spec: dict, values: list) -> list[int]:
    """Counts of ``values`` (None for missing) in the bins of ``spec``."""
    if spec["kind"] == "numeric":
        edges = np.asarray(spec["edges"], dtype="float64")
        array = np.array([np.nan if v is None else v for v in values], dtype="float64")
        missing = np.isnan(array)
        present = array[~missing]
        # numpy.histogram's rule, as the training counts: [a, b) except the last bin, which is closed.
        index = np.searchsorted(edges, present, side="right")  # 0: underflow ... len(edges): overflow
        index[present == edges[-1]] = len(edges) - 1
        counts = np.bincount(index, minlength=len(edges) + 1)
        return [int(c) for c in counts] + [int(missing.sum())]
    positions = {category: i for i, category in enumerate(spec["categories"])}
    counts = [0] * (len(positions) + 2)
    other, missing = len(positions), len(positions) + 1
    for value in values:
        if value is None:
            counts[missing] += 1
        else:
            counts[positions.get(value, other)] += 1
    return counts
