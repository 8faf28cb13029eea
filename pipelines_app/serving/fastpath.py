"""A row-wise numpy scorer compiled from a fitted pipeline, used only where it provably equals scikit-learn.

scikit-learn's ``predict_proba`` on a one-row DataFrame spends most of its time in pandas and input
validation, not in arithmetic. At load time ``compile_scorer`` reads the fitted preprocessing (median and
most-frequent imputers, standard scaler, one-hot encoder with unknown categories ignored and infrequent ones
grouped) and, for linear models, the coefficients, into plain arrays and dictionaries. ``verify`` then scores a
sample both ways and the fast scorer is used only when every number agrees to 1e-9; anything it does not know
returns None, and the caller keeps the scikit-learn pipeline.

Input rows are already typed (``typing.type_rows``): numeric values are floats with NaN for missing,
categorical values are text or NaN, exactly what ``ml.datasets.apply_schema`` gives the training code.

No Django here: it is unit-tested alone.
"""

from __future__ import annotations

import functools
import math

import numpy as np
import pandas as pd
from scipy.special import expit
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from pipelines_app.serving import shapley

TOLERANCE = 1e-9
# From this many rows on, columns are encoded as numpy arrays; below it, a loop over a few Python floats is faster
# than building them.
VECTOR_ROWS = 8


class FastScorer:
    """Encodes typed rows like the fitted ColumnTransformer and scores them like the fitted estimator."""

    path = "fast"

    def __init__(self, numeric, categorical, width, estimator, linear):
        self.numeric = numeric  # [(column, fill, mean, scale)] in output order
        self.categorical = categorical  # [(column, fill, {category: output index}, infrequent index or None)]
        self.width = width
        self.estimator = estimator
        self.linear = linear  # (coef, intercept) for a binary logistic regression, else None

    def encode(self, columns: dict[str, list], n: int) -> np.ndarray:
        if n >= VECTOR_ROWS:
            # One spare column past the last takes the ones of categories the encoder ignores, and is cut off.
            out = np.zeros((n, self.width + 1))
            for index, (name, fill, mean, scale) in enumerate(self.numeric):
                values = np.array(columns[name], dtype=np.float64)
                values[np.isnan(values)] = fill
                out[:, index] = (values - mean) / scale  # the same operations, element by element, as below
            rows = np.arange(n)
            for name, fill, positions, infrequent in self.categorical:
                get, other = positions.get, self.width if infrequent is None else infrequent
                missing = get(fill, other)
                out[rows, [get(v, other) if isinstance(v, str) else missing for v in columns[name]]] = 1.0
            return out[:, : self.width]
        out = np.zeros((n, self.width))
        for index, (name, fill, mean, scale) in enumerate(self.numeric):
            values = columns[name]
            for row in range(n):
                value = values[row]
                if value != value:  # NaN
                    value = fill
                out[row, index] = (value - mean) / scale
        for name, fill, positions, infrequent in self.categorical:
            values = columns[name]
            for row in range(n):
                value = values[row]
                if not isinstance(value, str):  # NaN: missing
                    value = fill
                position = positions.get(value, infrequent)
                if position is not None:
                    out[row, position] = 1.0
        return out

    def predict_proba(self, columns: dict[str, list], n: int) -> np.ndarray:
        if self.linear is None:
            return self.estimator.predict_proba(self.encode(columns, n))
        if n < VECTOR_ROWS:
            return np.array([(1.0 - p, p) for p in map(_sigmoid, self._log_odds_of_rows(columns, n))]).reshape(n, 2)
        positive = expit(self._log_odds_of_columns(columns, n))
        return np.column_stack([1.0 - positive, positive])

    def _log_odds_of_rows(self, columns: dict[str, list], n: int) -> list[float]:
        """A binary logistic regression's log-odds for a few rows, without the encoded matrix: each number's
        standardised value times its weight, and each category's own weight (the one-hot 1.0 times it)."""
        intercept, numeric, categorical = self._linear_terms
        out = []
        for row in range(n):
            z = intercept
            for name, fill, mean, scale, weight in numeric:
                value = columns[name][row]
                if value != value:  # NaN
                    value = fill
                z += (value - mean) / scale * weight
            for name, fill, weights, other in categorical:
                value = columns[name][row]
                z += weights.get(value if isinstance(value, str) else fill, other)
            out.append(z)
        return out

    def _log_odds_of_columns(self, columns: dict[str, list], n: int) -> np.ndarray:
        """The same for many rows, a column at a time: numbers as arrays, categories looked up in one pass."""
        intercept, numeric, categorical = self._linear_terms
        z = np.full(n, intercept)
        for name, fill, mean, scale, weight in numeric:
            values = np.array(columns[name], dtype=np.float64)
            values[np.isnan(values)] = fill
            z += (values - mean) / scale * weight
        for name, fill, weights, other in categorical:
            get = weights.get
            missing = get(fill, other)
            z += np.array([get(v, other) if isinstance(v, str) else missing for v in columns[name]])
        return z

    @functools.cached_property
    def _linear_terms(self):
        """The linear model read per input column, once per model: (intercept, [(column, fill, mean, scale,
        weight)], [(column, fill, {category: weight}, weight of a category it does not list)]); a category the
        encoder ignores weighs 0, one it groups as infrequent weighs what the group does."""
        coef, intercept = self.linear
        numeric = [
            (name, fill, mean, scale, float(coef[i])) for i, (name, fill, mean, scale) in enumerate(self.numeric)
        ]
        categorical = [
            (
                name,
                fill,
                {category: float(coef[position]) for category, position in positions.items()},
                float(coef[infrequent]) if infrequent is not None else 0.0,
            )
            for name, fill, positions, infrequent in self.categorical
        ]
        return intercept, numeric, categorical

    def predict(self, columns: dict[str, list], n: int) -> np.ndarray:
        return self.estimator.predict(self.encode(columns, n))

    def reference(self, frequencies: dict[str, dict[str, int]]) -> np.ndarray:
        """The encoded reference applicant: each number at its training mean (0 once standardised) and each
        category column at its training shares (``frequencies``: column → {category: count})."""
        reference = np.zeros(self.width)
        for name, _, positions, infrequent in self.categorical:
            counts = frequencies.get(name) or {}
            total = sum(counts.values())
            for value, count in counts.items():
                position = positions.get(value, infrequent)
                if position is not None and total:
                    reference[position] += count / total
        return reference

    def contributions(self, columns: dict[str, list], n: int, reference: np.ndarray):
        """(base, {input column: array of n contributions}) in log-odds of the estimator's second class:
        ``base + sum(contributions)`` is each row's log-odds. A binary logistic regression is explained exactly
        against ``reference`` (the reference applicant); a binary tree ensemble by SHAP's tree explainer
        (``tree_explain``), against the training data its trees hold; any other binary classifier by baseline
        Shapley values against ``reference`` (``shapley``, at most ``shapley.MAX_ROWS`` rows). None otherwise."""
        if self.linear is not None:
            coef, intercept = self.linear
            return float(intercept + coef @ reference), self._by_column((self.encode(columns, n) - reference) * coef)
        trees = self._trees()
        if trees is not None:
            base, values = trees(self.encode(columns, n))
            return float(base[0]) if n else 0.0, self._by_column(values)
        if not shapley.supports(self.estimator):
            return None
        found = self.baseline_shapley(self.encode(columns, n), reference)
        if found is None:
            return None
        base, values = found
        return base, {name: values[:, j] for j, name in enumerate(self.column_groups[0])}

    @functools.cached_property
    def baseline_shapley(self) -> shapley.BaselineShapley:
        """Made once per model: its coalitions and weights serve every explained row."""
        return shapley.BaselineShapley(self.estimator, self.column_groups[1])

    @functools.cached_property
    def column_groups(self) -> tuple[list[str], list[list[int]]]:
        """The input columns in output order, and the encoded positions each fills (worked out once per model:
        every explained request asks)."""
        names = [name for name, *_ in self.numeric] + [name for name, *_ in self.categorical]
        groups = [[index] for index in range(len(self.numeric))]
        for _, _, positions, infrequent in self.categorical:
            groups.append(sorted({*positions.values(), *([infrequent] if infrequent is not None else [])}))
        return names, groups

    def _trees(self):
        """The tree explainer of this estimator, made on first use; None when it is not a tree model it knows."""
        if not hasattr(self, "_tree_contributions"):
            from pipelines_app.serving import tree_explain  # noqa: PLC0415  (imports shap: only for a tree model)

            supported = tree_explain.supports(self.estimator)
            self._tree_contributions = tree_explain.TreeContributions(self.estimator) if supported else None
        return self._tree_contributions

    def _by_column(self, encoded_values: np.ndarray) -> dict[str, np.ndarray]:
        """Contributions of the encoded features summed per input column (a category column's one-hot outputs)."""
        names, groups = self.column_groups
        return {name: encoded_values[:, positions].sum(axis=1) for name, positions in zip(names, groups, strict=True)}


def _sigmoid(z: float) -> float:
    # The same formula as scipy's expit (used by scikit-learn), without an array round trip.
    if z >= 0:
        return 1.0 / (1.0 + math.exp(-z))
    e = math.exp(z)
    return e / (1.0 + e)


class SklearnScorer:
    """The fitted pipeline itself, fed a DataFrame: always right, slower."""

    path = "sklearn"

    def __init__(self, pipeline, kinds: dict[str, str]):
        self.pipeline = pipeline
        self.kinds = kinds  # feature → "numeric" / "categorical", in the order training used

    def _frame(self, columns, n):
        return pd.DataFrame(
            {
                name: pd.Series(columns[name], dtype="float64" if kind == "numeric" else "str")
                for name, kind in self.kinds.items()
            }
        )

    def predict_proba(self, columns, n):
        return self.pipeline.predict_proba(self._frame(columns, n))

    def predict(self, columns, n):
        return self.pipeline.predict(self._frame(columns, n))


def compile_scorer(pipeline) -> FastScorer | None:
    """The fast scorer for ``pipeline``, or None when it holds anything this module does not reproduce."""
    if not isinstance(pipeline, Pipeline) or len(pipeline.steps) != 2:
        return None
    preprocess, estimator = pipeline.steps[0][1], pipeline.steps[1][1]
    if not isinstance(preprocess, ColumnTransformer) or preprocess.remainder != "drop":
        return None
    numeric, categorical, offset = [], [], 0
    for name, transformer, columns in preprocess.transformers_:
        if name == "remainder" or transformer == "drop" or len(columns) == 0:
            continue
        steps = dict(transformer.steps) if isinstance(transformer, Pipeline) else None
        if steps is None:
            return None
        imputer, scaler, encoder = steps.get("impute"), steps.get("scale"), steps.get("onehot")
        if not isinstance(imputer, SimpleImputer) or len(steps) != 2:
            return None
        if scaler is not None and isinstance(scaler, StandardScaler):
            for j, column in enumerate(columns):
                mean = scaler.mean_[j] if scaler.with_mean else 0.0
                scale = scaler.scale_[j] if scaler.with_std else 1.0
                numeric.append((column, float(imputer.statistics_[j]), float(mean), float(scale)))
            offset += len(columns)
        elif encoder is not None and isinstance(encoder, OneHotEncoder):
            if encoder.drop is not None or encoder.handle_unknown not in ("ignore", "infrequent_if_exist"):
                return None
            blocks = _onehot_blocks(encoder, offset)
            if blocks is None:
                return None
            for j, column in enumerate(columns):
                positions, infrequent = blocks[j]
                categorical.append((column, str(imputer.statistics_[j]), positions, infrequent))
            offset += sum(encoder._n_features_outs)
        else:
            return None
    linear = None
    if isinstance(estimator, LogisticRegression) and len(estimator.classes_) == 2:
        linear = (estimator.coef_[0].astype(float), float(estimator.intercept_[0]))
    elif not hasattr(estimator, "predict"):
        return None
    # The fast scorer fills one dense matrix in the transformer's output order.
    order = [c[0] for c in numeric] + [c[0] for c in categorical]
    expected = [c for name, _, cols in preprocess.transformers_ if name != "remainder" for c in cols]
    if order != list(expected):
        return None
    return FastScorer(numeric, categorical, offset, estimator, linear)


def _onehot_blocks(encoder, offset):
    """For each input column: {category: output index} and the output index of its infrequent group."""
    sizes = getattr(encoder, "_n_features_outs", None)
    if sizes is None:
        return None
    infrequent_lists = getattr(encoder, "infrequent_categories_", [None] * len(encoder.categories_))
    blocks, start = [], offset
    for j, categories in enumerate(encoder.categories_):
        infrequent = set(infrequent_lists[j]) if infrequent_lists[j] is not None else set()
        frequent = [c for c in categories if c not in infrequent]
        positions = {str(c): start + i for i, c in enumerate(frequent) if isinstance(c, str)}
        if len(positions) != len(frequent):
            return None  # a non-text category: this module only knows the text categories training produces
        group = start + len(frequent) if infrequent else None
        for c in infrequent:
            positions[str(c)] = group
        if len(frequent) + (1 if infrequent else 0) != sizes[j]:
            return None
        blocks.append((positions, group))
        start += sizes[j]
    return blocks


def verify(fast: FastScorer, pipeline, kinds: dict[str, str], columns: dict[str, list], n: int) -> str:
    """Empty when the fast scorer equals the pipeline on these rows, else what differs."""
    slow = SklearnScorer(pipeline, kinds)
    try:
        dense = pipeline.steps[0][1].transform(slow._frame(columns, n))
        dense = dense.toarray() if hasattr(dense, "toarray") else np.asarray(dense)
        encoded = fast.encode(columns, n)
        if dense.shape != encoded.shape or not np.allclose(dense, encoded, rtol=0, atol=TOLERANCE):
            return "the encoded rows differ from scikit-learn's"
        if hasattr(pipeline, "predict_proba"):
            if not np.allclose(fast.predict_proba(columns, n), slow.predict_proba(columns, n), rtol=0, atol=TOLERANCE):
                return "the probabilities differ from scikit-learn's"
        elif not np.allclose(fast.predict(columns, n), slow.predict(columns, n), rtol=0, atol=TOLERANCE):
            return "the predictions differ from scikit-learn's"
    except Exception as exc:  # noqa: BLE001  (any failure means: do not use the fast path)
        return f"the check failed: {exc}"
    return ""


def sample_rows(feature_schema: list[dict], n: int = 200, seed: int = 0) -> dict[str, list]:
    """Typed rows spread over the training ranges and categories, with missing values and unknown categories."""
    rng = np.random.default_rng(seed)
    columns = {}
    for entry in feature_schema:
        if entry["kind"] == "numeric":
            low = entry.get("min") if entry.get("min") is not None else 0.0
            high = entry.get("max") if entry.get("max") is not None else 1.0
            values = rng.uniform(low - 0.1 * abs(high - low) - 1, high + 0.1 * abs(high - low) + 1, n).tolist()
            for row in rng.choice(n, size=max(1, n // 10), replace=False):
                values[row] = float("nan")
        else:
            known = list(entry.get("categories") or []) + ["never-seen-in-training"]
            values = [known[i] for i in rng.integers(0, len(known), n)]
            for row in rng.choice(n, size=max(1, n // 10), replace=False):
                values[row] = float("nan")
        columns[entry["name"]] = values
    return columns
