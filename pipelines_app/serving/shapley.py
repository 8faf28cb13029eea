"""Contributions for any other binary classifier (an SVM, a neural network, naive Bayes, …): baseline Shapley values
of its log-odds against the reference applicant, over the input columns.

Each input column is a player (a category column's one-hot outputs move together); a coalition's value is the
model's log-odds for the row with the coalition's columns as the applicant gave them and the others as the
reference applicant has them. With few columns every coalition is scored, in one batch (2^M rows: 512 for the
demo's nine), so the values are exact Shapley values of that game (Sundararajan & Najmi, "The many Shapley values
for model explanation", ICML 2020, call it baseline Shapley); with more than ``EXACT_COLUMNS`` columns they are
averaged over ``PERMUTATIONS`` random orders of the columns. Either way they add up exactly: ``base`` (the
reference applicant's log-odds) plus the contributions is the row's log-odds.

It costs model evaluations, not arithmetic: at most ``MAX_ROWS`` rows per request are explained this way.
"""

from __future__ import annotations

import math

import numpy as np

EXACT_COLUMNS = 11
PERMUTATIONS = 64
MAX_ROWS = 100
EPSILON = 1e-12


def supports(estimator) -> bool:
    return hasattr(estimator, "predict_proba") and len(getattr(estimator, "classes_", [])) == 2


class BaselineShapley:
    """``groups``: for each input column, the encoded positions it fills."""

    def __init__(self, estimator, groups: list[list[int]]):
        self.estimator = estimator
        self.groups = groups
        m = len(groups)
        if m <= EXACT_COLUMNS:  # the coalitions and their Shapley weights: the same for every row
            self.masks = np.arange(1 << m)
            self.sizes = np.array([bin(mask).count("1") for mask in self.masks])
            self.weights = np.array(
                [math.factorial(s) * math.factorial(m - s - 1) / math.factorial(m) for s in range(m)]
            )

    def _log_odds(self, encoded: np.ndarray) -> np.ndarray:
        p = np.clip(self.estimator.predict_proba(encoded)[:, 1], EPSILON, 1 - EPSILON)
        return np.log(p / (1 - p))

    def __call__(self, encoded: np.ndarray, reference: np.ndarray) -> tuple[float, np.ndarray] | None:
        """(base, rows × input columns contributions), or None for more than MAX_ROWS rows."""
        if len(encoded) > MAX_ROWS:
            return None
        base = float(self._log_odds(reference[None, :])[0])
        m = len(self.groups)
        exact = m <= EXACT_COLUMNS
        out = np.zeros((len(encoded), m))
        for r, row in enumerate(encoded):
            out[r] = self._exact(row, reference) if exact else self._sampled(row, reference, seed=r)
        return base, out

    def _blend(self, row, reference, masks: np.ndarray) -> np.ndarray:
        """One encoded row per mask: the columns whose bit is set from ``row``, the rest from ``reference``."""
        rows = np.repeat(reference[None, :], len(masks), axis=0)
        for j, positions in enumerate(self.groups):
            chosen = (masks >> j) & 1 == 1
            rows[np.ix_(chosen, positions)] = row[positions]
        return rows

    def _exact(self, row, reference) -> np.ndarray:
        masks = self.masks
        values = self._log_odds(self._blend(row, reference, masks))
        phi = np.zeros(len(self.groups))
        for j in range(len(self.groups)):
            without = masks[(masks >> j) & 1 == 0]
            phi[j] = np.sum(self.weights[self.sizes[without]] * (values[without | (1 << j)] - values[without]))
        return phi

    def _sampled(self, row, reference, seed) -> np.ndarray:
        m = len(self.groups)
        rng = np.random.default_rng(seed)
        orders = [rng.permutation(m) for _ in range(PERMUTATIONS)]
        masks = []
        for order in orders:
            mask = 0
            masks.append(mask)
            for j in order:
                mask |= 1 << int(j)
                masks.append(mask)
        values = self._log_odds(self._blend(row, reference, np.array(masks)))
        phi = np.zeros(m)
        for k, order in enumerate(orders):
            step = values[k * (m + 1) : (k + 1) * (m + 1)]
            phi[np.asarray(order)] += np.diff(step)
        return phi / PERMUTATIONS
