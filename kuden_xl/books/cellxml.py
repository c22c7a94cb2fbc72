"""One cell as Excel writes it: a value as a ``<c>`` element, and the number format it needs.

Text becomes an inline string (``sharedStrings.xml`` stays as it is), dates and times serial
numbers, numbers and booleans themselves; ``None`` leaves the cell without a value.
"""

from __future__ import annotations

import functools
import math
import re
from datetime import date, datetime, time
from typing import TypeAlias
from xml.sax.saxutils import escape

from .base import DATETIME_FORMAT  # one format for both adapters

CellValue: TypeAlias = str | int | float | bool | datetime | date | time | None

DATE_FORMAT = "yyyy/mm/dd"
TIME_FORMAT = "hh:mm"

# Characters XML 1.0 cannot carry, and \r (a parser turns it into \n): Excel writes them _xHHHH_.
_BAD_XML_CHAR = re.compile("[\x00-\x08\x0b-\x1f\ufffe\uffff\ud800-\udfff]")
_EXCEL_ESCAPE = re.compile("_(x[0-9A-Fa-f]{4}_)")
_NEEDS_ESCAPE = re.compile("[&<>_\x00-\x08\x0b-\x1f\ufffe\uffff\ud800-\udfff]")


def _excel_text(text: str) -> str:
    """Escape what XML cannot carry the way Excel does (``_xHHHH_``), then XML-escape."""
    if not _NEEDS_ESCAPE.search(text):
        return text
    text = _EXCEL_ESCAPE.sub(r"_x005F_\1", text)
    text = _BAD_XML_CHAR.sub(lambda m: f"_x{ord(m.group()):04X}_", text)
    return escape(text)


@functools.lru_cache(maxsize=256)
def _serial(value: date | datetime | time, date1904: bool) -> str:
    if isinstance(value, time):
        seconds = value.hour * 3600 + value.minute * 60 + value.second + value.microsecond / 1e6
        return repr(seconds / 86400)
    if not isinstance(value, datetime):
        value = datetime(value.year, value.month, value.day)
    value = value.replace(tzinfo=None)
    epoch = datetime(1904, 1, 1) if date1904 else datetime(1899, 12, 30)
    delta = value - epoch
    serial = delta.days + (delta.seconds + delta.microseconds / 1e6) / 86400
    return str(delta.days) if serial == delta.days else repr(serial)


_FORMATS: dict[type, str] = {datetime: DATETIME_FORMAT, date: DATE_FORMAT, time: TIME_FORMAT}


def format_of(value: CellValue) -> str | None:
    kind = type(value)
    if kind is str or kind is int or value is None:
        return None
    if kind in _FORMATS:
        return _FORMATS[kind]
    if isinstance(value, datetime):
        return DATETIME_FORMAT
    if isinstance(value, date):
        return DATE_FORMAT
    if isinstance(value, time):
        return TIME_FORMAT
    return None


def cell_xml(ref: str, kept: str, value: CellValue, p: str, style: int | None, d1904: bool) -> str:
    """A ``<c>`` element holding ``value``; ``kept`` are attributes carried over (`` s="3"`` …)."""
    attrs = f'<{p}c r="{ref}"{kept}' if style is None else f'<{p}c r="{ref}"{kept} s="{style}"'
    if value is None:
        return attrs + "/>"
    if isinstance(value, str):
        text = _excel_text(value)
        spaced = value != value.strip() or "\n" in value or "\t" in value or "  " in value
        space = ' xml:space="preserve"' if spaced else ""
        return f'{attrs} t="inlineStr"><{p}is><{p}t{space}>{text}</{p}t></{p}is></{p}c>'
    if isinstance(value, bool):
        return f'{attrs} t="b"><{p}v>{int(value)}</{p}v></{p}c>'
    if isinstance(value, (datetime, date, time)):
        number = _serial(value, d1904)
    elif isinstance(value, int):
        number = str(value)
    elif isinstance(value, float):
        if not math.isfinite(value):
            return cell_xml(ref, kept, str(value), p, None, d1904)
        number = repr(value)
        if number.endswith(".0"):
            number = number[:-2]
    else:
        raise TypeError(f"cannot write {type(value).__name__} to a cell")
    return f"{attrs}><{p}v>{number}</{p}v></{p}c>"
