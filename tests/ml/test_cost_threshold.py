"""The decision threshold by cost (evaluate's ``costs:``): the curve's minimum is the brute-force one, and the
evaluation reads every metric at it."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipelines_app.ml.metrics import cost_curve, evaluate_model
from tests.ml.test_metrics import card_model, demo  # noqa: F401  (module fixtures: the demo data, one model)


def brute_force(is_positive, score, false_positive, false_negative):
    """The least expected cost over every threshold that changes a decision (and one above every score)."""
    best = None
    for threshold in [*sorted(set(score)), np.inf]:
        predicted = score >= threshold
        cost = false_positive * (predicted & ~is_positive).sum() + false_negative * (~predicted & is_positive).sum()
        cost /= len(score)
        if best is None or cost < best - 1e-12:
            best = cost
    return best


@settings(max_examples=150, deadline=None)
@given(
    rows=st.lists(st.tuples(st.booleans(), st.sampled_from([0.0, 0.1, 0.25, 0.5, 0.7, 0.9, 1.0])), min_size=1),
    false_positive=st.floats(0, 20),
    false_negative=st.floats(0.01, 20),
)
def test_the_chosen_threshold_has_the_least_expected_cost(rows, false_positive, false_negative):
    is_positive = np.array([label for label, _ in rows])
    score = np.array([value for _, value in rows])
    curve = cost_curve(is_positive, score, false_positive=false_positive, false_negative=false_negative)
    chosen = curve["chosen"]
    assert chosen["expected_cost"] == pytest.approx(brute_force(is_positive, score, false_positive, false_negative))
    predicted = score >= chosen["threshold"]
    recomputed = false_positive * (predicted & ~is_positive).sum() + false_negative * (~predicted & is_positive).sum()
    assert chosen["expected_cost"] == pytest.approx(recomputed / len(score))
    assert chosen["approval_rate"] == pytest.approx(predicted.mean())
    assert len(curve["thresholds"]) == len(curve["expected_cost"]) == len(curve["approval_rate"]) == 101
    # The chart's curve never goes below the chosen point.
    assert min(curve["expected_cost"]) >= chosen["expected_cost"] - 1e-9


def test_approval_rates_per_group_at_the_chosen_threshold():
    score = np.array([0.9, 0.8, 0.3, 0.6, 0.2, 0.95])
    is_positive = np.array([True, True, False, True, False, True])
    owner = ["yes", "yes", "no", "no", None, "no"]
    curve = cost_curve(is_positive, score, false_positive=1, false_negative=1, groups={"owner": owner})
    assert curve["chosen"]["threshold"] == 0.6 and curve["chosen"]["expected_cost"] == 0
    assert curve["chosen"]["by_group"] == {"owner": {"yes": 1.0, "no": 2 / 3}}


def test_declining_good_customers_cheaply_lowers_the_threshold(card_model):  # noqa: F811
    def evaluated(costs):
        return evaluate_model(
            card_model.pipeline,
            card_model.X_test,
            card_model.y_test,
            task=card_model.task,
            target_info=card_model.target_info,
            costs=costs,
        )

    lenient = evaluated({"false_positive": 1.0, "false_negative": 10.0})  # a lost customer costs more
    strict = evaluated({"false_positive": 10.0, "false_negative": 1.0})  # a default costs more
    assert lenient["metrics"]["threshold"] <= strict["metrics"]["threshold"]
    assert lenient["cost_curve"]["chosen"]["approval_rate"] >= strict["cost_curve"]["chosen"]["approval_rate"]
    # Every metric is read at the chosen threshold: recall is higher where approving is cheap.
    assert lenient["metrics"]["recall"] >= strict["metrics"]["recall"]
    assert "threshold" not in evaluated(None)["metrics"]
