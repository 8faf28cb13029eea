"""Reasons by group: what pushes each sensitive group's applications toward the negative outcome, on the test split.

The evaluate step stores it on the version; the evidence page shows it to reviewers beside the fairness metrics.
It uses the very contributions serving returns with ``?explain`` (``fastpath.FastScorer.contributions``, against
the same reference applicant), so that the evidence and a customer's reasons never disagree. None for a model
that cannot be explained exactly yet (see ``LoadedModel.explain``).
"""

from __future__ import annotations

import math

import numpy as np

from pipelines_app.serving import fastpath

TOP = 5


def reference_of(scorer, reference_profile: dict | None):
    """The encoded reference applicant: training means (0 once standardised) and the training category shares."""
    profile = (reference_profile or {}).get("columns_profile") or {}
    return scorer.reference({name: entry.get("frequencies") or {} for name, entry in profile.items()})


def typed_columns(frame, kinds: dict[str, str]) -> dict[str, list]:
    """A DataFrame's feature columns as scoring types them: floats with NaN, text or NaN."""
    columns = {}
    for name, kind in kinds.items():
        values = frame[name].tolist() if name in frame else [math.nan] * len(frame)
        if kind == "numeric":
            columns[name] = [float(v) if v is not None and v == v else math.nan for v in values]
        else:
            columns[name] = [v if isinstance(v, str) else (str(v) if v is not None and v == v else math.nan)
                             for v in values]  # fmt: skip
    return columns


def reasons_by_group(pipeline, version_fields: dict, X_test, groups) -> dict | None:
    """``{"features": {feature: [{"group", "rows", "mean": {column: mean contribution}, "lowest_means": the three
    columns that pull the group down most on average, "first_reasons": [{"column", "share"}] (how often each is a
    row's first reason)}]}, "columns": [...]}`` in log-odds of the positive label, or None where the model cannot
    be explained.

    ``version_fields``: the version's ``feature_schema``, ``reference_profile`` and ``positive_label``;
    ``groups``: a DataFrame of the sensitive features, indexed as ``X_test``."""
    scorer = fastpath.compile_scorer(pipeline)
    classes = [str(c) for c in getattr(pipeline, "classes_", [])]
    positive = version_fields.get("positive_label")
    if scorer is None or len(classes) != 2 or positive not in classes:
        return None
    kinds = {entry["name"]: entry["kind"] for entry in version_fields["feature_schema"]}
    n = len(X_test)
    reference = reference_of(scorer, version_fields["reference_profile"])
    found = scorer.contributions(typed_columns(X_test, kinds), n, reference)
    if found is None or n == 0:
        return None
    _, by_column = found
    sign = 1.0 if classes.index(positive) == 1 else -1.0
    names = list(by_column)
    matrix = np.column_stack([by_column[name] for name in names]) * sign
    first = np.argmin(matrix, axis=1)
    pushes_down = matrix[np.arange(n), first] < 0
    out = {}
    for feature in groups.columns:
        values = groups[feature].astype("string").fillna("(missing)").to_numpy()
        rows = []
        for group in sorted(set(values.tolist())):
            mask = values == group
            means = matrix[mask].mean(axis=0)
            counts = np.bincount(first[mask & pushes_down], minlength=len(names))
            ranked = np.argsort(-counts)[:TOP]
            lowest = [i for i in np.argsort(means)[:3] if means[i] < 0]
            rows.append(
                {
                    "group": group,
                    "rows": int(mask.sum()),
                    "mean": {name: round(float(v), 6) for name, v in zip(names, means, strict=True)},
                    "lowest_means": [{"column": names[i], "mean": round(float(means[i]), 4)} for i in lowest],
                    "first_reasons": [
                        {"column": names[i], "share": round(float(counts[i] / mask.sum()), 4)}
                        for i in ranked
                        if counts[i]
                    ],
                }
            )
        out[feature] = rows
    return {"features": out, "columns": names}
