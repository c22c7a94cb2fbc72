"""Cell values as the report needs them: dates from date cells, Excel serials and text.

Workbooks hold dates in every form staff type: a real date cell, a number (an Excel serial in a
cell formatted as General), ``2026/10/31``, ``2026-10-31``, ``2026年10月31日``, ``令和8年10月31日``,
``R8.10.31`` — with or without a time. Every reader (calamine, openpyxl, CSV) hands its cells
through these functions, so a file reads the same whichever reader opened it.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date, datetime, time, timedelta

from ..clock import JST
from ..value_text import ERAS

_EXCEL_EPOCH = datetime(1899, 12, 30)  # serial 1 = 1900-01-01 (after Excel's 1900 leap bug)
_EXCEL_EPOCH_DAY = _EXCEL_EPOCH.date()
_DAY = timedelta(days=1)
_MAX_SERIAL = 2958466  # 9999-12-31
_ERA_START = {era: first_year for _, era, first_year in ERAS}
_ERA_LETTERS = {"R": "令和", "H": "平成", "S": "昭和", "T": "大正", "M": "明治"}
_TIME = r"(?:[ T]+(\d{1,2})[:時](\d{1,2})(?:[:分](\d{1,2})秒?)?分?)?"
_WESTERN = re.compile(r"(\d{4})[/\-.年](\d{1,2})[/\-.月](\d{1,2})日?" + _TIME)
_JAPANESE = re.compile(
    r"(令和|平成|昭和|大正|明治|[RHSTM])\s*(元|\d{1,2})[年/\-.](\d{1,2})[月/\-.](\d{1,2})日?"
    + _TIME
)


def text(value: object) -> str:
    """A cell as trimmed text ('' for empty); a whole float shows without ``.0`` (1001.0 → 1001)."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def integer(value: object) -> int:
    """A count cell (通数) as an int; 0 when empty or unreadable."""
    if isinstance(value, bool) or value is None:
        return 0
    if isinstance(value, (int, float)):
        return int(value)
    try:
        return int(float(unicodedata.normalize("NFKC", str(value)).replace(",", "").strip()))
    except ValueError:
        return 0


def parse_datetime_text(raw: str) -> datetime | None:
    """``2026/10/31``, ``令和8年10月31日 10:05``, ``R8.10.31`` … as a naive datetime, else None."""
    s = unicodedata.normalize("NFKC", raw).strip().upper()
    m = _WESTERN.fullmatch(s)
    if m:
        year, month, day = int(m[1]), int(m[2]), int(m[3])
        clock = m.groups()[3:]
    else:
        m = _JAPANESE.fullmatch(s)
        if not m:
            return None
        era = _ERA_LETTERS.get(m[1], m[1])
        year = _ERA_START[era] + (1 if m[2] == "元" else int(m[2])) - 1
        month, day = int(m[3]), int(m[4])
        clock = m.groups()[4:]
    hour, minute, second = (int(x) if x else 0 for x in clock)
    try:
        return datetime(year, month, day, hour, minute, second)
    except ValueError:
        return None


def to_datetime(value: object) -> datetime | None:
    """A 送信日時-like cell as a naive Japan-time datetime (None when empty or unreadable)."""
    if isinstance(value, datetime):
        return value.astimezone(JST).replace(tzinfo=None) if value.tzinfo else value
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if 1 <= value < _MAX_SERIAL:
            return _EXCEL_EPOCH + timedelta(seconds=round(value * 86400))  # as Excel shows it
        return None
    if isinstance(value, str) and value.strip():
        return parse_datetime_text(value)
    return None


def to_date(value: object) -> date | None:
    """A 納期限/納付日-like cell as a date (None when empty or unreadable)."""
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if isinstance(value, time):
        return None
    moment = to_datetime(value)
    return moment.date() if moment else None


def excel_serial(value: date | datetime) -> float:
    """The Excel serial of a date or naive datetime (what a date cell stores)."""
    if isinstance(value, datetime):
        return (value - _EXCEL_EPOCH) / _DAY
    return float((value - _EXCEL_EPOCH_DAY).days)
