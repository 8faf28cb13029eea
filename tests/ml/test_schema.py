"""infer_schema and apply_schema: guessing column kinds, and casting to the kinds a user chose."""

import numpy as np
import pandas as pd
import pytest

from pipelines_app.ml.datasets import DatasetError, apply_schema, infer_schema, read_csv_checked


def read(text):
    return read_csv_checked(text.encode(), max_bytes=1024 * 1024)


def test_the_demo_file_has_three_categorical_columns(demo_csv_bytes):
    schema = infer_schema(read_csv_checked(demo_csv_bytes, max_bytes=len(demo_csv_bytes)))
    assert {column for column, kind in schema.items() if kind == "categorical"} == {"card", "owner", "selfemp"}
    assert {column for column, kind in schema.items() if kind == "numeric"} == {
        "reports", "age", "income", "share", "expenditure", "dependents", "months", "majorcards", "active",
    }  # fmt: skip


def test_yes_no_and_true_false_columns_are_categorical():
    frame = read("a,b,c,d\nyes,True,1,Y\nno,False,0,N\nyes,,1,Y\n")
    assert infer_schema(frame) == {"a": "categorical", "b": "categorical", "c": "numeric", "d": "categorical"}


def test_a_zero_one_column_stays_numeric():
    assert infer_schema(read("flag,x\n0,a\n1,b\n0,c\n"))["flag"] == "numeric"


def test_missing_markers_do_not_stop_a_column_from_being_numeric():
    frame = read("income,target\n2.5,a\nNA,b\n,c\nnull,d\n?,e\n4,f\n")
    assert infer_schema(frame)["income"] == "numeric"
    typed = apply_schema(frame, {"income": "numeric"})
    assert typed["income"].isna().tolist() == [False, True, True, True, True, False]


def test_one_word_among_numbers_makes_a_column_categorical():
    rows = "\n".join(f"{i},x" for i in range(2000))
    frame = read(f"code,other\n{rows}\nunknown,x\n")
    assert infer_schema(frame)["code"] == "categorical"


def test_a_column_without_values_is_categorical():
    assert infer_schema(read("empty,x\n,1\n,2\n"))["empty"] == "categorical"


def test_numeric_columns_are_cast_to_float_and_categorical_ones_to_text():
    frame = read("age,city,zip\n31,Paris,75001\n,Lyon,69001\n45,,\n")
    typed = apply_schema(frame, {"age": "numeric", "city": "categorical", "zip": "categorical"})
    assert typed["age"].dtype == np.float64
    assert typed["age"].isna().tolist() == [False, True, False]
    assert typed["city"].tolist()[:2] == ["Paris", "Lyon"]
    # Whole numbers read as the file wrote them, not "75001.0"; missing stays missing.
    assert typed["zip"].tolist()[:2] == ["75001", "69001"]
    assert pd.isna(typed["zip"].iloc[2])


def test_infinities_count_as_missing_in_numeric_columns():
    typed = apply_schema(read("x,y\n1,a\ninf,b\n-inf,c\n"), {"x": "numeric"})
    assert typed["x"].isna().tolist() == [False, True, True]


def test_a_true_false_column_can_be_made_numeric():
    typed = apply_schema(read("flag,x\nTrue,a\nFalse,b\n,c\n"), {"flag": "numeric"})
    assert typed["flag"].tolist()[:2] == [1.0, 0.0]
    assert np.isnan(typed["flag"].iloc[2])


def test_columns_the_schema_does_not_name_are_left_as_they_are():
    frame = read("a,b\n1,x\n2,y\n")
    typed = apply_schema(frame, {"a": "categorical"})
    assert typed["a"].tolist() == ["1", "2"]
    assert typed["b"].tolist() == ["x", "y"]


def test_text_in_a_column_marked_numeric_names_the_column_the_value_and_its_row():
    frame = read("age,city\n31,Paris\n40,Lyon\nforty,Nice\n50,Lille\nn/a,Brest\n?,Nantes\nold,Pau\n")
    with pytest.raises(DatasetError) as caught:
        apply_schema(frame, {"age": "numeric", "city": "categorical"})
    assert caught.value.message == (
        "Column 'age' is marked numeric but holds text: 'forty' in data row 3 (2 such values in all). "
        "Mark it categorical or correct the file."
    )


def test_a_categorical_column_marked_numeric_is_refused():
    with pytest.raises(DatasetError, match="Column 'city' is marked numeric but holds text: 'Paris' in data row 1"):
        apply_schema(read("age,city\n31,Paris\n"), {"city": "numeric"})


def test_a_schema_naming_an_absent_column_is_refused():
    with pytest.raises(DatasetError) as caught:
        apply_schema(read("a,b\n1,2\n"), {"a": "numeric", "salary": "numeric"})
    assert caught.value.message == "The schema names 1 column that the table lacks: 'salary'."


def test_an_unknown_kind_is_refused():
    with pytest.raises(DatasetError) as caught:
        apply_schema(read("a,b\n1,2\n"), {"a": "date"})
    assert caught.value.message == "Column 'a' has the unknown kind 'date'; use 'numeric' or 'categorical'."
