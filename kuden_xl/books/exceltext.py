"""Text safety for ``Range.Value``: which strings get Excel's quote prefix to stay text.

DESIGN §3: Excel parses a string put into ``Range.Value`` like typed input, so
``=…`` becomes a formula, ``0120…`` a number and ``R8/10/31`` a date. Such strings are written
with a leading apostrophe, which Excel stores as a quote prefix: the cell's value is the text
without it. Only strings Excel could read as something else get the prefix (``excel_text``), so
ordinary Japanese results show no apostrophe in the formula bar.
"""

from __future__ import annotations

import re
import unicodedata

_FORMULA_OR_PREFIX = set("=+-@'#")
_NUMBER_START = set("0123456789.(¥$€£")
_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_ERA = re.compile(r"(明治|大正|昭和|平成|令和|午前|午後|[MTSHR]\d{1,2}[/.-]\d)", re.IGNORECASE)


def excel_text(text: str) -> str:
    """``text`` as written to a cell so that Excel keeps it as that text.

    A leading apostrophe (Excel's quote prefix, not part of the value) is added when Excel would
    read the string as something else: a formula or error (``= + - @ #``), a string already
    starting with ``'``, a number, date, time, fraction or currency (a digit, ``.``, ``(`` or a
    currency sign first), a Japanese era date or a time (``令和…``, ``R8/…``, ``午前…``), an
    English month date (``Jan-26``) or TRUE/FALSE. Full-width forms count as Excel reads them.
    """
    if not text:
        return text
    shown = unicodedata.normalize("NFKC", text).strip()
    if not shown:
        return text
    first = shown[0]
    risky = (
        first in _FORMULA_OR_PREFIX
        or text[0] in _FORMULA_OR_PREFIX
        or first in _NUMBER_START
        or _ERA.match(shown) is not None
        or shown.casefold() in ("true", "false")
        or shown[:3].casefold() in _MONTHS
    )
    return "'" + text if risky else text
