"""How one cell value reads in a message body (DESIGN §3): 西暦 or 和暦 dates, numbers as Excel
shows them, はい/いいえ.

Decisions (where the design left a choice): strings are trimmed (spaces, full-width spaces, stray
newlines around a cell value would land mid-sentence); bool → はい/いいえ; NaN/inf are refused
(ValueError: the template reports them); a date-time shows its time as `` 13時05分`` only when
hour or minute is non-zero (seconds are dropped); aware date-times are shown in Japan time.
"""

from __future__ import annotations

import math
from datetime import date, datetime, time
from decimal import Decimal
from enum import Enum

from .clock import JST
from .numfmt import format_number

__all__ = ["DateStyle", "format_value"]


class DateStyle(str, Enum):
    SEIREKI = "西暦"
    WAREKI = "和暦"


# (first day in the Gregorian calendar, era name, Gregorian year of the era's 元年)
ERAS = (
    (date(2019, 5, 1), "令和", 2019),
    (date(1989, 1, 8), "平成", 1989),
    (date(1926, 12, 25), "昭和", 1926),
    (date(1912, 7, 30), "大正", 1912),
    (date(1873, 1, 1), "明治", 1868),  # Japan took the Gregorian calendar on 明治6年1月1日
)


def _format_date(day: date, style: DateStyle) -> str:
    if style is DateStyle.WAREKI:
        for start, era, first_year in ERAS:
            if day >= start:
                year = day.year - first_year + 1
                shown = "元" if year == 1 else str(year)
                return f"{era}{shown}年{day.month}月{day.day}日"
    return f"{day.year}年{day.month}月{day.day}日"


def _format_number(value: float | Decimal) -> str:
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"not a finite number: {value}")
        # 15 significant digits, as Excel shows: 0.1+0.2 is 0.3, not 0.30000000000000004, and
        # 2**60 is 1,152,921,504,606,850,000, not …846,976.
        value = Decimal(f"{value:.15g}")
    if not value.is_finite():
        raise ValueError(f"not a finite number: {value}")
    if value == value.to_integral_value():
        return f"{int(value):,}"
    return format(value.normalize(), ",f")


def format_value(
    value: object,
    *,
    date_style: DateStyle = DateStyle.SEIREKI,
    number_format: str | None = None,
) -> str:
    """How one cell value appears in a body ('' for an empty cell).

    A number is shown as its cell's ``number_format`` shows it in Excel (``numfmt``); with no
    format, or one ``numfmt`` does not render, as a whole number or with its decimals, with
    thousands separators. Dates follow ``date_style`` whatever their format.

    Raises:
        ValueError: a number that is NaN or infinite.
    """
    if value is None:
        return ""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, bool):
        return "はい" if value else "いいえ"
    if number_format is not None and isinstance(value, (int, float, Decimal)):
        shown = format_number(value, number_format)
        if shown is not None:
            return shown.strip()
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, (float, Decimal)):
        return _format_number(value)
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = value.astimezone(JST)
        text = _format_date(value.date(), date_style)
        if value.hour or value.minute:
            text += f" {value.hour}時{value.minute:02d}分"
        return text
    if isinstance(value, date):
        return _format_date(value, date_style)
    if isinstance(value, time):
        return f"{value.hour}時{value.minute:02d}分"
    return str(value).strip()
