"""read_csv_checked: every kind of bad file gets a plain sentence with real line numbers and column names."""

import csv
import io
import zipfile

import numpy as np
import pandas as pd
import pytest

from pipelines_app.ml.datasets import DatasetError, read_csv_checked, sha256_bytes, size_limit_message

LIMIT = 10 * 1024 * 1024


def read(data, max_bytes=LIMIT):
    return read_csv_checked(data, max_bytes=max_bytes)


def message_for(data, max_bytes=LIMIT):
    with pytest.raises(DatasetError) as caught:
        read(data, max_bytes)
    return caught.value.message


def twelve_column_file(bad_line=None, bad_fields=None):
    """A header and data lines; line `bad_line` (1-based, the header is line 1) gets `bad_fields` fields."""
    lines = [",".join(f"c{i}" for i in range(1, 13))]
    for number in range(2, 11):
        width = bad_fields if number == bad_line else 12
        lines.append(",".join(str(number * 100 + i) for i in range(width)))
    return ("\n".join(lines) + "\n").encode()


def test_dataset_error_is_a_value_error_whose_text_is_the_message():
    error = DatasetError("The file is empty.")
    assert isinstance(error, ValueError)
    assert error.message == str(error) == "The file is empty."


def test_it_reads_a_plain_csv_with_typed_columns():
    frame = read(b"age,city,income\n31,Paris,2.5\n45,Lyon,3.25\n")
    assert list(frame.columns) == ["age", "city", "income"]
    assert frame["age"].tolist() == [31, 45]
    assert frame["income"].tolist() == [2.5, 3.25]
    assert frame["city"].tolist() == ["Paris", "Lyon"]


def test_empty_fields_are_missing_and_other_text_is_kept():
    frame = read(b"a,b,c\n1,,x\n,NA,\n3,4,z\n")
    assert frame["a"].isna().tolist() == [False, True, False]
    assert frame["c"].isna().tolist() == [False, True, False]
    # "NA" is text when reading; only numeric columns count it as missing (see test_schema.py).
    assert frame["b"].tolist()[1] == "NA"
    assert frame["b"].isna().tolist() == [True, False, False]


def test_it_accepts_a_byte_order_mark_windows_line_ends_and_blank_lines():
    frame = read(b"\xef\xbb\xbfa,b\r\n1,2\r\n\r\n   \r\n3,4\r\n")
    assert list(frame.columns) == ["a", "b"]
    assert frame["a"].tolist() == [1, 3]


def test_it_strips_spaces_around_names_and_after_separators():
    frame = read(b" age , city\n31, Paris\n")
    assert list(frame.columns) == ["age", "city"]
    assert frame["city"].tolist() == ["Paris"]


def test_quoted_fields_may_hold_commas_quotes_and_line_breaks():
    frame = read(b'name,note\n"Smith, J","said ""hi""\nthen left"\nDoe,ok\n')
    assert frame["name"].tolist() == ["Smith, J", "Doe"]
    assert frame["note"].tolist() == ['said "hi"\nthen left', "ok"]


def test_it_reads_the_demo_file(demo_csv_bytes):
    frame = read(demo_csv_bytes)
    assert frame.shape == (1319, 12)
    assert frame["card"].value_counts().to_dict() == {"yes": 1023, "no": 296}


# Bad files ---------------------------------------------------------------------------------------------


def test_an_empty_file_is_rejected():
    assert message_for(b"") == "The file is empty."


def test_a_file_of_blank_lines_and_spaces_is_rejected():
    assert message_for(b" \n\n  \r\n\t") == "The file is empty: it holds only blank lines or spaces."


def test_a_file_over_the_limit_names_its_size_and_the_limit():
    data = b"a,b\n" + b"1,2\n" * int(250.3 * 1024 / 4)
    assert message_for(data, max_bytes=200 * 1024) == "The file is 250.3 KB; the limit is 200 KB."


def test_the_size_message_speaks_in_megabytes_for_a_megabyte_limit():
    message = size_limit_message(int(250.3 * 1024 * 1024), 200 * 1024 * 1024)
    assert message == "The file is 250.3 MB; the limit is 200 MB."


def test_a_file_just_over_the_limit_is_given_in_exact_bytes():
    message = size_limit_message(200 * 1024 * 1024 + 1, 200 * 1024 * 1024)
    assert message == "The file is 209,715,201 bytes; the limit is 209,715,200 bytes."


def test_the_size_is_checked_before_anything_is_parsed():
    assert message_for(b"\x89PNG" + b"\x00" * 100, max_bytes=50) == "The file is 104 bytes; the limit is 50 bytes."


def test_an_excel_workbook_is_recognised():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as workbook:
        workbook.writestr("[Content_Types].xml", "<Types/>")
        workbook.writestr("xl/workbook.xml", "<workbook/>")
    message = message_for(buffer.getvalue())
    assert message.startswith("This is not a CSV file (it looks like an Excel workbook, .xlsx).")
    assert "Save the sheet as CSV" in message


def test_a_zip_archive_is_recognised():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("data.csv", "a,b\n1,2\n")
    assert message_for(buffer.getvalue()).startswith("This is not a CSV file (it looks like a ZIP archive).")


def test_an_old_excel_file_is_recognised():
    data = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 64
    assert "(it looks like an old Excel (.xls) or other Office file)" in message_for(data)


def test_an_image_is_recognised():
    data = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"
    assert message_for(data) == "This is not a CSV file (it looks like a PNG image). Upload a CSV file instead."


def test_binary_data_names_the_position_and_line_of_its_first_nul_byte():
    message = message_for(b"a,b\n1,2\n3,\x004\n")
    assert message == (
        "This is not a CSV file: it holds binary data (a NUL byte at position 10, line 3). Save it as UTF-8 CSV."
    )


def test_utf16_text_is_rejected_with_what_to_do():
    assert message_for("a,b\n1,2\n".encode("utf-16")) == "The file is UTF-16 text. Save it as UTF-8 CSV."


def test_latin1_text_names_the_bad_byte_its_position_and_line():
    data = "name,city\nAnna,Paris\nJosé,Lyon\n".encode("latin-1")
    assert data[24] == 0xE9
    assert message_for(data) == "The file is not UTF-8 text: byte 0xE9 at position 24 (line 3). Save it as UTF-8 CSV."


def test_the_position_of_a_bad_byte_counts_the_byte_order_mark():
    data = b"\xef\xbb\xbfa,b\n1,\xff\n"
    assert message_for(data) == "The file is not UTF-8 text: byte 0xFF at position 9 (line 2). Save it as UTF-8 CSV."


def test_a_short_line_is_named_with_its_field_count():
    assert message_for(twelve_column_file(bad_line=7, bad_fields=5)) == "Line 7 has 5 fields; the header has 12."


def test_a_long_line_is_named_with_its_field_count():
    assert message_for(twelve_column_file(bad_line=4, bad_fields=13)) == "Line 4 has 13 fields; the header has 12."


def test_a_field_count_error_says_how_many_other_lines_are_wrong():
    data = b"a,b,c\n1,2,3\n4,5\n6,7,8,9\n10,11,12\n13\n"
    assert message_for(data) == "Line 3 has 2 fields; the header has 3. 2 other lines have a wrong number of fields."


def test_line_numbers_count_blank_lines_and_line_breaks_inside_quotes():
    data = b'a,b,c\n\n1,"two\nlines",3\n\n4,5\n'
    assert message_for(data) == "Line 6 has 2 fields; the header has 3."


def test_line_numbers_count_blank_lines_in_a_file_without_quotes():
    data = b"\n\na,b,c\r\n1,2,3\r\n\r\n4,5,6,7\r\n"
    assert message_for(data) == "Line 6 has 4 fields; the header has 3."


def test_a_quote_that_is_never_closed_is_named_by_its_line():
    data = b'a,b,c\n1,2,3\n4,"five,6\n7,8,9\n'
    assert message_for(data) == 'Line 3 opens a quoted field that is never closed: a " without its closing ".'


def test_an_unclosed_quote_in_the_last_column_is_found_too():
    # The runaway record keeps the right number of fields here, so only the quote count gives it away.
    data = b'a,b\n1,2\n3,"four\n5,6\n'
    assert message_for(data) == 'Line 3 opens a quoted field that is never closed: a " without its closing ".'


def test_duplicate_column_names_are_named():
    assert message_for(b"age,income,age\n1,2,3\n") == "Column names must be unique: 'age' appears twice."


def test_names_that_differ_only_by_surrounding_spaces_are_duplicates():
    message = message_for(b"age,x, age,y,x,x\n1,2,3,4,5,6\n")
    assert message == "Column names must be unique: 'age' appears twice and 'x' appears three times."


def test_a_header_without_data_rows_is_rejected():
    assert message_for(b"age,income\n") == "The file has a header line but no data rows."
    assert message_for(b"age,income") == "The file has a header line but no data rows."
    assert message_for(b'"age","income"\n\n\n') == "The file has a header line but no data rows."


def test_a_single_column_asks_about_the_separator():
    assert message_for(b"age\n1\n2\n") == (
        "The file has a single column; a dataset needs at least two (features and a target). Is the separator a comma?"
    )


def test_a_single_column_with_semicolons_says_so():
    message = message_for(b"age;income\n1;2\n")
    assert message.startswith("The file has a single column;")
    assert message.endswith("The header line holds semicolons; save the file with commas between the columns.")


def test_a_blank_column_name_is_named_by_position():
    assert message_for(b"age,,income\n1,2,3\n") == "Column 2 has no name in the header line; every column needs one."


def test_several_blank_column_names_are_listed_with_the_header_line():
    # A trailing comma on every line, as some spreadsheets write, leaves the last column without a name.
    message = message_for(b"\nage, ,income,\n1,2,3,\n")
    assert message == "Columns 2 and 4 have no name in the header (line 2); every column needs one."


def test_sha256_is_the_hex_digest_of_the_bytes():
    assert sha256_bytes(b"abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"


def test_reading_a_large_file_stays_fast():
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({f"x{i}": rng.normal(size=200_000).round(3) for i in range(10)})
    frame["label"] = rng.choice(["yes", "no"], size=len(frame))
    data = frame.to_csv(index=False).encode()
    read_back = read(data, max_bytes=len(data))
    assert read_back.shape == frame.shape
    np.testing.assert_allclose(read_back["x3"].to_numpy(), frame["x3"].to_numpy())


def test_a_file_holding_only_a_byte_order_mark_is_empty():
    assert message_for(b"\xef\xbb\xbf") == "The file is empty."


def test_old_mac_line_ends_are_read_and_counted():
    assert read(b"a,b\r1,2\r3,4\r")["a"].tolist() == [1, 3]
    assert message_for(b"a,b\r1,2\r3\r") == "Line 3 has 1 field; the header has 2."


def test_a_quoted_field_after_a_space_keeps_its_comma():
    frame = read(b'name, city\nAnna, "Paris, France"\n')
    assert frame["city"].tolist() == ["Paris, France"]


def test_a_line_holding_only_an_empty_quoted_field_is_a_short_row_not_a_blank_line():
    assert message_for(b'a,b\n1,2\n""\n3,4\n') == "Line 3 has 1 field; the header has 2."


def test_an_unclosed_quote_is_found_behind_a_stray_quote():
    # The stray quote inside `5'11"` evens the quote count; the open quote on line 3 must still be found.
    data = b'name,height\nAnna,5\'11"\nBob,"6\nCarl,5\n'
    assert message_for(data) == 'Line 3 opens a quoted field that is never closed: a " without its closing ".'


def test_a_stray_quote_inside_a_field_is_kept_as_text():
    assert read(b"name,height\nAnna,5'11\"\nBob,6\n")["height"].tolist() == ["5'11\"", "6"]


def test_a_header_name_over_several_lines_is_refused():
    assert message_for(b'a,"b\nc"\n1,2\n') == (
        'The header (line 1) has a column name that runs over several lines. Is a quote (") left unclosed?'
    )


def test_a_quote_left_open_in_the_header_is_named_by_its_line():
    assert message_for(b'\na,"b') == 'Line 2 opens a quoted field that is never closed: a " without its closing ".'


def test_a_quote_left_open_before_a_long_tail_names_its_line():
    limit = csv.field_size_limit()
    data = b'a,b\n1,2\n3,"4\n' + b"5,6\n" * (limit // 4 + 1)
    assert message_for(data) == f'Line 3 starts a field longer than {limit:,} characters. Is a quote (") left unclosed?'
