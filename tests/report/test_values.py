"""Dates in every form staff type, read the same whichever reader handed the cell in."""

from __future__ import annotations

from datetime import date, datetime, timezone

import pytest

from kuden_xl.report.values import excel_serial, integer, text, to_date, to_datetime


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2026/10/31", date(2026, 10, 31)),
        ("2026-10-31", date(2026, 10, 31)),
        ("２０２６／１０／３１", date(2026, 10, 31)),
        ("2026年10月31日", date(2026, 10, 31)),
        ("令和8年10月31日", date(2026, 10, 31)),
        ("令和元年5月1日", date(2019, 5, 1)),
        ("平成31年4月30日", date(2019, 4, 30)),
        ("R8.10.31", date(2026, 10, 31)),
        ("r8/10/31", date(2026, 10, 31)),
        (46326, date(2026, 10, 31)),
        (46326.0, date(2026, 10, 31)),
        (datetime(2026, 10, 31, 9, 0), date(2026, 10, 31)),
        (date(2026, 10, 31), date(2026, 10, 31)),
        ("2026/02/30", None),
        ("10月31日", None),
        ("", None),
        (None, None),
        (True, None),
    ],
)
def test_to_date_reads_cells_serials_and_text(value: object, expected: date | None) -> None:
    assert to_date(value) == expected


def test_to_datetime_keeps_the_time_and_reads_japan_time() -> None:
    assert to_datetime("2026/10/05 10:01") == datetime(2026, 10, 5, 10, 1)
    assert to_datetime("令和8年10月5日 9時05分") == datetime(2026, 10, 5, 9, 5)
    assert to_datetime(excel_serial(datetime(2026, 10, 5, 10, 1))) == datetime(2026, 10, 5, 10, 1)
    aware = datetime(2026, 10, 5, 1, 0, tzinfo=timezone.utc)
    assert to_datetime(aware) == datetime(2026, 10, 5, 10, 0)


def test_text_and_integer() -> None:
    assert text(1001.0) == "1001" and text("  K1 ") == "K1" and text(None) == ""
    assert integer("２") == 2 and integer(3.0) == 3 and integer("") == 0 and integer(None) == 0
