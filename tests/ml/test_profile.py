"""profile_dataframe: statistics that agree with pandas, drift bins that hold the data, JSON-safe output."""

import io
import json

import numpy as np
import pandas as pd
import pytest

from pipelines_app.ml.datasets import apply_schema, count_in_bins, infer_schema, profile_dataframe, read_csv_checked


def profile_of(text, schema=None, **options):
    frame = read_csv_checked(text.encode(), max_bytes=1024 * 1024)
    return profile_dataframe(frame, schema or infer_schema(frame), **options)


@pytest.fixture(scope="module")
def expected(demo_csv_bytes):
    """The demo table as pandas reads it on its own, to check the profile against."""
    return pd.read_csv(io.BytesIO(demo_csv_bytes))


@pytest.fixture(scope="module")
def demo_profile(demo_csv_bytes):
    frame = read_csv_checked(demo_csv_bytes, max_bytes=len(demo_csv_bytes))
    return profile_dataframe(frame, infer_schema(frame))


def assert_bins_hold_the_data(column, values):
    present = values[~np.isnan(values)]
    edges, counts = column["bin_edges"], column["bin_counts"]
    assert len(counts) == len(edges) - 1
    assert sum(counts) == present.size
    assert counts == np.histogram(present, bins=edges)[0].tolist()
    assert counts == count_in_bins(values, edges).tolist()
    histogram = column["histogram"]
    assert len(histogram["counts"]) == len(histogram["edges"]) - 1 <= 30
    assert sum(histogram["counts"]) == present.size
    assert histogram["counts"] == np.histogram(present, bins=histogram["edges"])[0].tolist()


def test_the_demo_profile_counts_rows_and_columns(demo_profile, expected):
    assert demo_profile["rows"] == 1319
    assert demo_profile["columns"] == 12
    assert list(demo_profile["columns_profile"]) == list(expected.columns)


def test_the_demo_numbers_agree_with_pandas(demo_profile, expected):
    for name in ["reports", "age", "income", "share", "expenditure", "dependents", "months", "majorcards", "active"]:
        column, values = demo_profile["columns_profile"][name], expected[name]
        assert column["kind"] == "numeric"
        assert column["missing"] == values.isna().sum() == 0
        assert column["missing_fraction"] == 0.0
        assert column["distinct"] == values.nunique()
        assert column["min"] == values.min()
        assert column["max"] == values.max()
        assert column["mean"] == pytest.approx(values.mean(), rel=1e-12)
        assert column["std"] == pytest.approx(values.std(), rel=1e-12)
        for key, q in {"0.05": 0.05, "0.25": 0.25, "0.5": 0.5, "0.75": 0.75, "0.95": 0.95}.items():
            assert column["quantiles"][key] == pytest.approx(values.quantile(q), rel=1e-12)


def test_the_demo_bin_edges_are_deciles_that_hold_every_row(demo_profile, expected):
    for name, column in demo_profile["columns_profile"].items():
        if column["kind"] != "numeric":
            continue
        edges = column["bin_edges"]
        assert all(a < b for a, b in zip(edges, edges[1:], strict=False)), name
        assert edges[0] == column["min"] and edges[-1] == column["max"]
        assert edges == pytest.approx(np.unique(expected[name].quantile(np.linspace(0, 1, 11))).tolist())
        assert sum(column["bin_counts"]) == 1319
        assert_bins_hold_the_data(column, expected[name].to_numpy(dtype=float))


def test_the_demo_categories_are_counted(demo_profile, expected):
    for name in ["card", "owner", "selfemp"]:
        column = demo_profile["columns_profile"][name]
        assert column["kind"] == "categorical"
        assert column["missing"] == 0
        assert column["distinct"] == 2
        assert column["frequencies"] == expected[name].value_counts().to_dict()
    assert demo_profile["columns_profile"]["card"]["frequencies"] == {"yes": 1023, "no": 296}


def test_the_profile_is_plain_json(demo_profile):
    assert json.loads(json.dumps(demo_profile, allow_nan=False)) == demo_profile
    age = demo_profile["columns_profile"]["age"]
    assert type(age["mean"]) is float and type(age["missing"]) is int and type(age["bin_counts"][0]) is int


def test_missing_values_and_a_text_target_are_profiled():
    text = (
        "income,region,outcome\n"
        "2.5,north,approved\n"
        ",south,rejected\n"
        "4.0,,approved\n"
        "NA,north,pending\n"
        "3.5,south,\n"
        "1.0,north,approved\n"
    )
    profile = profile_of(text)
    assert profile["rows"] == 6
    income, region, outcome = (profile["columns_profile"][name] for name in ["income", "region", "outcome"])
    assert income["kind"] == "numeric"
    assert income["missing"] == 2
    assert income["missing_fraction"] == pytest.approx(2 / 6)
    assert income["mean"] == pytest.approx(np.mean([2.5, 4.0, 3.5, 1.0]))
    assert income["std"] == pytest.approx(np.std([2.5, 4.0, 3.5, 1.0], ddof=1))
    assert sum(income["bin_counts"]) == 4
    assert region == {
        "kind": "categorical", "missing": 1, "missing_fraction": pytest.approx(1 / 6), "distinct": 2,
        "frequencies": {"north": 3, "south": 2},
    }  # fmt: skip
    assert outcome["kind"] == "categorical"
    assert outcome["frequencies"] == {"approved": 3, "rejected": 1, "pending": 1}
    assert outcome["missing"] == 1


def test_a_constant_column_has_one_closed_bin():
    profile = profile_of("const,x\n" + "7,a\n" * 50)
    column = profile["columns_profile"]["const"]
    assert column["bin_edges"] == [7.0, 7.0]
    assert column["bin_counts"] == [50]
    assert column["distinct"] == 1
    assert column["std"] == 0.0
    assert column["histogram"] == {"edges": [6.5, 7.5], "counts": [50]}
    # Live data counted against these edges: 7 falls in, anything else falls out (which is drift).
    assert count_in_bins([7, 7, 8, 6.9, np.nan], column["bin_edges"]).tolist() == [2]


def test_few_distinct_values_give_fewer_bins():
    column = profile_of("n,x\n" + "".join(f"{i % 3},a\n" for i in range(90)))["columns_profile"]["n"]
    assert column["bin_edges"] == [0.0, 1.0, 2.0]
    assert column["bin_counts"] == [30, 60]
    assert len(column["histogram"]["counts"]) == 3


def test_a_single_value_has_no_spread():
    column = profile_of("n,x\n5,a\n,b\n")["columns_profile"]["n"]
    assert column["std"] is None
    assert column["mean"] == 5.0
    assert column["missing"] == 1


def test_a_numeric_column_without_values_reports_nothing_but_its_gaps():
    column = profile_of("n,x\n,a\n,b\n", schema={"n": "numeric", "x": "categorical"})["columns_profile"]["n"]
    assert column["missing"] == 2 and column["missing_fraction"] == 1.0 and column["distinct"] == 0
    assert column["mean"] is None and column["min"] is None and column["quantiles"]["0.5"] is None
    assert column["bin_edges"] == [] and column["bin_counts"] == []


def test_rare_categories_are_summed_as_other():
    rows = "".join(f"c{i:02d},{i}\n" * (100 - i) for i in range(30))
    column = profile_of("cat,n\n" + rows, top_categories=20)["columns_profile"]["cat"]
    assert column["distinct"] == 30
    assert len(column["frequencies"]) == 21
    assert list(column["frequencies"])[:3] == ["c00", "c01", "c02"]
    assert column["frequencies"]["c19"] == 81
    assert column["frequencies"]["__other__"] == sum(100 - i for i in range(20, 30))


def test_a_corrected_schema_profiles_numbers_as_categories():
    profile = profile_of("grade,x\n1,a\n2,b\n2,c\n", schema={"grade": "categorical", "x": "categorical"})
    assert profile["columns_profile"]["grade"]["frequencies"] == {"2": 2, "1": 1}


def test_an_already_cast_frame_profiles_the_same(demo_csv_bytes):
    frame = read_csv_checked(demo_csv_bytes, max_bytes=len(demo_csv_bytes))
    schema = infer_schema(frame)
    assert profile_dataframe(apply_schema(frame, schema), schema) == profile_dataframe(frame, schema)
