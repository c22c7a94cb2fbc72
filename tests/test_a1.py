"""books.a1 against openpyxl's own column conversion (an independent reference), every column."""

from __future__ import annotations

from openpyxl.utils import column_index_from_string, get_column_letter

from kuden_xl.books.a1 import column_letter, column_number


def test_every_excel_column_agrees_with_openpyxl() -> None:
    for column in range(1, 16_385):
        letters = get_column_letter(column)
        assert column_letter(column) == letters
        assert column_number(letters) == column_index_from_string(letters) == column
        assert column_number(letters.lower()) == column
