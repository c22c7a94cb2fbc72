"""Parse, normalise and classify Japanese phone numbers from worksheet cells (DESIGN §5).

A cell value goes through two steps:

1. ``clean._clean`` turns the value into a national digit string (``'09012345678'``) or an early verdict
   (empty cell, scientific notation, letters, several numbers, a foreign number). Cleaning
   accepts full-width digits, dash variants, spaces, ``()``, dots, ``+81``/``(+81)``/``0081``/
   ``81`` prefixes, Excel's leading ``'``, and numbers whose leading 0 was lost:

   * an int (or exactly integral float) of 9-10 digits gets its 0 back (an int cannot keep one);
     one of 11-12 digits starting with 81 is read as ``+81``;
   * a text of *only* digits, exactly 10 of them, starting 20/50/60/70/80/90 gets its 0 back:
     that is what Excel or a CSV round trip leaves of an 11-digit number. Any other text not
     starting with 0 is refused (a guessed number texts a stranger);
   * text in scientific notation (``9.01E+09``) has lost digits and is always refused.

2. The national number is classified with phonenumbers' JP metadata. The fast path reproduces
   ``phonenumbers.parse(n, 'JP')`` + ``is_valid_number`` + ``number_type`` with the metadata's own
   patterns compiled once; anything it cannot vouch for (``00``/``010`` prefixes) goes to
   phonenumbers itself. Where 総務省's number plan is more precise than the metadata, the plan
   wins: 14-digit ``0200`` numbers (absent from the metadata) are M2M; 0204 (pager), 11-digit
   0600 (FMC) and 0170/0180 get their own kind, 11-digit 0200 is no number.

   A country code is followed by the national number: ``+81 10…`` is never read as ``010``, the
   international call prefix (``_clean`` hands such a number on as ``'+8110…'``).

phonenumbers is imported on first use, so importing this package stays cheap for the Excel UDFs.
Modules: ``result`` (PhoneCheck, kinds, reasons), ``clean`` (step 1), ``classify`` (step 2).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable

from .classify import _ELEVEN_DIGIT_PREFIX, _classify
from .clean import _clean, _clean_text
from .result import NumberKind, PhoneCheck

__all__ = ["NumberKind", "PhoneCheck", "check", "check_many", "mask"]


def check(value: object, *, allow_m2m: bool = False) -> PhoneCheck:
    """Check one cell value; ``ok`` means an SMS can be sent to ``national``."""
    cleaned = _clean(value)
    if isinstance(cleaned, PhoneCheck):
        return cleaned
    return _classify(cleaned, allow_m2m=allow_m2m)


def check_many(values: Iterable[object], *, allow_m2m: bool = False) -> list[PhoneCheck]:
    """``[check(v) for v in values]``, computed once per distinct value and national number."""
    values = values if isinstance(values, (list, tuple)) else list(values)
    # A text is its own key; other values carry their class, which keeps True, 1 and 1.0 apart.
    keys = [v if v.__class__ is str else (v.__class__, v) for v in values]
    try:
        distinct = dict.fromkeys(keys)
    except TypeError:  # an unhashable cell value: no caching
        return [check(v, allow_m2m=allow_m2m) for v in values]
    # Whole-column stages as comprehensions: much cheaper per value than one loop with branches.
    cleaned = [_clean_text(k) if isinstance(k, str) else _clean(k[1]) for k in distinct]
    nationals = dict.fromkeys(c for c in cleaned if isinstance(c, str))
    by_national = {n: _classify(n, allow_m2m=allow_m2m) for n in nationals}
    by_key = {
        k: c if isinstance(c, PhoneCheck) else by_national[c]
        for k, c in zip(distinct, cleaned, strict=True)
    }
    return list(map(by_key.__getitem__, keys))


def mask(number: str) -> str:
    """A number fit for logs: ``090-****-5678``; never more than the last 4 digits (+ 0X0)."""
    cleaned = _clean(number)
    if isinstance(cleaned, str):
        digits = cleaned
    else:
        text = unicodedata.normalize("NFKC", str(number))
        digits = "".join(c for c in text if c.isascii() and c.isdigit())
    if len(digits) < 8:  # too short for the last 4 to be a small part of it
        return "*" * len(digits) if digits else "****"
    if _ELEVEN_DIGIT_PREFIX.match(digits):
        return f"{digits[:3]}-****-{digits[-4:]}"
    return f"***-****-{digits[-4:]}"
