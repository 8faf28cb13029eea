"""Drift from binned counts: the numbers against scipy, and the levels on known shifts."""

import numpy as np
import pytest
from scipy import stats

from pipelines_app.monitoring import bins, drift

RNG = np.random.default_rng(11)


def numeric_spec(reference_values):
    edges = np.unique(np.quantile(reference_values, np.linspace(0, 1, 11)))
    spec = {"kind": "numeric", "edges": edges.tolist(), "std": float(np.std(reference_values, ddof=1))}
    spec["reference"] = bins.count(spec, reference_values.tolist())
    return spec


def judge(spec, values):
    return drift.feature_drift(
        spec["kind"], spec["reference"], bins.count(spec, values), edges=spec.get("edges"), std=spec.get("std")
    )


def test_the_same_distribution_is_not_drift():
    reference = RNG.lognormal(1.2, 0.5, 5000)
    result = judge(numeric_spec(reference), RNG.lognormal(1.2, 0.5, 20000).tolist())
    assert result["level"] == "ok" and result["psi"] < 0.02


def test_an_income_shift_of_a_third_alerts():
    reference = RNG.lognormal(1.2, 0.5, 5000)
    result = judge(numeric_spec(reference), (RNG.lognormal(1.2, 0.5, 20000) * 1.3).tolist())
    assert result["level"] in ("warn", "alert") and result["method"] == "wasserstein"
    assert result["psi"] > 0.1


def test_a_ten_percent_flip_of_a_binary_column_warns_at_a_million_rows():
    spec = {"kind": "categorical", "categories": ["no", "yes"]}
    spec["reference"] = [700, 300, 0, 0]
    flipped = np.where(RNG.random(1_000_000) < 0.3, "yes", "no")
    swap = RNG.random(flipped.size) < 0.1
    flipped = np.where(swap, np.where(flipped == "yes", "no", "yes"), flipped)
    result = judge(spec, flipped.tolist())
    assert result["level"] == "warn", result
    unchanged = np.where(RNG.random(1_000_000) < 0.3, "yes", "no")
    assert judge(spec, unchanged.tolist())["level"] == "ok"


def test_the_binned_ks_statistic_matches_scipy_on_the_bin_centres():
    reference = RNG.normal(0, 1, 3000)
    spec = numeric_spec(reference)
    current = RNG.normal(0.5, 1, 500)
    ref_counts, cur_counts = spec["reference"], bins.count(spec, current.tolist())
    statistic, _ = drift.ks_binned(ref_counts[:-1], cur_counts[:-1], 3000, 500)  # the last bin: missing values
    centres = drift.bin_centres(spec["edges"])
    expected = stats.ks_2samp(np.repeat(centres, ref_counts[:-1]), np.repeat(centres, cur_counts[:-1])).statistic
    assert statistic == pytest.approx(expected, abs=1e-9)


def test_chi_square_matches_scipy():
    reference, current = [600, 300, 100, 0], [500, 350, 150, 0]
    statistic, p_value, shift = drift.chi_square(reference, current)
    expected = stats.chisquare([500, 350, 150], np.array([0.6, 0.3, 0.1]) * 1000)
    assert statistic == pytest.approx(expected.statistic) and p_value == pytest.approx(expected.pvalue)
    assert shift == pytest.approx(0.1)


def test_psi_and_jensen_shannon_by_hand():
    assert drift.psi([50, 50], [50, 50]) == 0
    assert drift.psi([50, 50], [25, 75]) == pytest.approx(0.25 * np.log(0.5) * -1 + 0.25 * np.log(1.5))
    assert drift.jensen_shannon([1, 0], [0, 1]) == pytest.approx(1.0)


def test_values_beyond_the_training_range_and_missing_ones_have_bins_of_their_own():
    spec = {"kind": "numeric", "edges": [0.0, 1.0, 2.0], "std": 1.0}
    assert bins.count(spec, [-1, 0, 0.5, 1, 2, 3, None]) == [1, 2, 2, 1, 1]


def test_no_rows_is_no_verdict():
    spec = {"kind": "categorical", "categories": ["a"], "reference": [10, 0, 0]}
    assert judge(spec, [])["level"] == "ok" and judge(spec, [])["method"] == "none"


def test_overall_share():
    features = {"a": {"method": "psi", "level": "alert"}, "b": {"method": "psi", "level": "ok"}}
    assert drift.overall(features) == {"share_drifted": 0.5, "dataset_drift": True}


def test_counts_of_the_rows_weighted_one_give_positives_per_bin():
    spec = {"kind": "categorical", "categories": ["yes", "no"], "reference": [5, 5, 0, 0]}
    assert bins.count(spec, ["yes", "no", "yes", "maybe", None], [1, 0, 0, 1, 1]) == [1, 0, 1, 1]


def test_numeric_groups_are_training_quartiles_with_the_outer_bins_and_missing():
    # Eight equal training bins: two per quartile; below the range joins the first, above it the last.
    spec = {"kind": "numeric", "edges": list(range(9)), "reference": [0, *[10] * 8, 0, 0]}
    groups = bins.groups(spec)
    assert [name for name, _ in groups] == ["0–2", "2–4", "4–6", "6–8", "missing"]
    assert [members for _, members in groups] == [[0, 1, 2], [3, 4], [5, 6], [7, 8, 9], [10]]
    categorical = {"kind": "categorical", "categories": ["yes", "no"], "reference": [5, 5, 0, 0]}
    assert bins.groups(categorical) == [("yes", [0]), ("no", [1]), ("other", [2]), ("missing", [3])]


@pytest.mark.parametrize("decimals", [None, 0])
def test_the_large_sample_ks_and_wasserstein_equal_scipys(decimals):
    """Above 10,000 rows the statistics are read on the merged distinct values; scipy reads them value by value."""
    rng = np.random.default_rng(5)
    reference = rng.normal(50, 10, 1_500)
    current = rng.normal(52, 11, 40_000)
    if decimals is not None:  # ties, as in real columns
        reference, current = reference.round(decimals), current.round(decimals)
    ref, cur = np.sort(reference), np.sort(current)
    statistic, p_value, distance = drift.ks_and_wasserstein(ref, cur)
    expected = stats.ks_2samp(reference, current)  # asymptotic at this size, as ours
    assert statistic == pytest.approx(expected.statistic, abs=1e-12)
    assert p_value == pytest.approx(expected.pvalue, rel=1e-9, abs=1e-300)
    assert distance == pytest.approx(stats.wasserstein_distance(reference, current), rel=1e-9)
