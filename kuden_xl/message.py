"""Message bodies: templates (差し込み ``{氏名}``), values, counting and checks (DESIGN §3, §5).

Decisions (where the design left a choice):

- Placeholders: ``{列名}``; the name is NFKC-normalised and trimmed, so ``{ 氏名 }`` works, and is
  matched to the row's keys like a header (``normalize_header`` / ``canonical_name``; aliases such
  as ``{phone}`` find 電話番号). Full-width braces ``｛氏名｝`` are placeholders too: an IME
  types them easily, and sending them literally to residents would be worse than refusing.
  ``{{`` ``}}`` (and ``｛｛`` ``｝｝``) are a literal brace. ``{`` with no ``}`` on the same line,
  a lone ``}``, ``{}`` and ``{a{b}`` are template errors (SettingsError).
- Values: strings are trimmed (spaces, full-width spaces, stray newlines around a cell value would
  land mid-sentence); bool → はい/いいえ; NaN/inf → ERR_TEMPLATE; a date-time shows its time as
  `` 13時05分`` only when hour or minute is non-zero (seconds are dropped); aware date-times are
  shown in Japan time.
- Newlines: ``\\r\\n`` and a lone ``\\r`` become ``\\n``, and JIS-form characters (〜 − ‖ ¢ £ ¬)
  their CP932 forms (～ － ∥ ￠ ￡ ￢), before anything is counted or checked: ``BodyCheck.body`` is
  the normalised body, the one previewed, sent and recorded as 送信本文; positions refer to it. A
  tab or any other control character is refused (a tab suggests a space).
- Lengths are UTF-16 code units, as a UCS-2 SMS carries them: a character beyond the BMP (emoji,
  rare kanji) counts 2 and is never split between two parts. Positions in reasons count characters.
- Refused characters: see ``charset.py``.
- Links: cities promise residents that their SMS carry none. ``http`` (so ``https``) or ``www.``
  anywhere in the body, in any letter case or width, refuses it as ERR_BAD_CHAR with a URL reason
  that gives the position and, for a merged value, the column.
- When a body is both too long and has refused characters or a URL, the code is ERR_BAD_CHAR and
  the reason states each.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal
from enum import Enum
from functools import lru_cache

from .charset import BadChar, bad_char_reason, bad_chars, normalise_body
from .clock import JST
from .errors import SettingsError
from .numfmt import format_number
from .schema import ResultCode, canonical_name, normalize_header

__all__ = [
    "DEFAULT_MAX_LENGTH",
    "PART_LIMIT",
    "SINGLE_LIMIT",
    "BadChar",
    "BodyCheck",
    "DateStyle",
    "Template",
    "bad_chars",
    "check_body",
    "count",
    "format_value",
    "placeholders",
    "render",
]

SINGLE_LIMIT = 70
PART_LIMIT = 67
DEFAULT_MAX_LENGTH = 660


class DateStyle(str, Enum):
    SEIREKI = "西暦"
    WAREKI = "和暦"


@dataclass(frozen=True)
class BodyCheck:
    body: str
    length: int
    segments: int
    code: ResultCode | None  # None: fine to send
    reason: str  # Japanese, '' when fine
    bad_chars: tuple[BadChar, ...] = ()

    @property
    def ok(self) -> bool:
        return self.code is None


# --- counting -------------------------------------------------------------------------------


def count(body: str) -> tuple[int, int]:
    """(length, segments) of the normalised body, in UTF-16 units as a UCS-2 SMS carries them.

    A newline is 1, a character beyond the BMP 2. 70 units fit one SMS; a longer body goes in parts
    of 67, and a surrogate pair is never split between two parts.
    """
    return _count(normalise_body(body))


def _count(body: str, *, unusual: bool = True) -> tuple[int, int]:
    astral = len(_ASTRAL.findall(body)) if unusual else 0
    length = len(body) + astral
    if length == 0:
        return 0, 0
    if length <= SINGLE_LIMIT:
        return length, 1
    if not astral:
        return length, -(-length // PART_LIMIT)
    parts, used = 1, 0
    for ch in body:
        units = 2 if ch > "\uffff" else 1
        if used + units > PART_LIMIT:
            parts, used = parts + 1, 0
        used += units
    return length, parts


_ASTRAL = re.compile("[\U00010000-\U0010ffff]")
# What only an unusual body holds: a character beyond the BMP, or a letter that may start a URL.
# The usual Japanese body has none, and one search spares it the counting and URL work.
_UNUSUAL = re.compile("[\U00010000-\U0010ffffhHwWｈＨｗＷ]")


# --- checking a finished body ---------------------------------------------------------------


def check_body(body: str, *, max_length: int = DEFAULT_MAX_LENGTH) -> BodyCheck:
    """Count a finished body and check it: not empty, not over ``max_length``, no refused chars,
    no URL."""
    return _check(normalise_body(body), max_length, tuple)


# A merged value's place in the normalised body: (start, end, column name), 0-based, end excluded.
_Span = tuple[int, int, str]


def _check(body: str, max_length: int, merged: Callable[[], tuple[_Span, ...]]) -> BodyCheck:
    """Check a normalised body; ``merged`` gives the merged values' spans (asked only for a URL)."""
    if max_length < 1:
        raise ValueError(f"max_length must be positive, not {max_length}")
    unusual = _UNUSUAL.search(body) is not None
    length, segments = _count(body, unusual=unusual)
    if not body.strip():
        return BodyCheck(body, length, segments, ResultCode.ERR_TEMPLATE, "本文が空です")
    found = bad_chars(body)
    urls = _url_reason(body, merged) if unusual else ""
    too_long = length > max_length
    if not found and not urls and not too_long:
        return BodyCheck(body, length, segments, None, "")
    reasons = [bad_char_reason(found)] if found else []
    if urls:
        reasons.append(urls)
    if too_long:
        reasons.append(f"本文が{length}文字です。上限は{max_length}文字です")
    code = ResultCode.ERR_BAD_CHAR if found or urls else ResultCode.ERR_TOO_LONG
    return BodyCheck(body, length, segments, code, "。".join(reasons), found)


# "http" or "www." in either width and any case, then the URL characters that follow (also in
# full width, U+FF01-U+FF5E), matched on the body itself so that positions are the body's.
_URL = re.compile(
    r"(?:[hｈ][tｔ][tｔ][pｐ]|[wｗ][wｗ][wｗ][.．])[A-Za-z0-9\-._~:/?#\[\]@!$&'*+,;=%\uff01-\uff5e]*",
    re.IGNORECASE,
)
_URL_SHOWN = 24  # characters of a URL quoted in a reason


def _url_reason(body: str, merged: Callable[[], tuple[_Span, ...]]) -> str:
    """'' when the body holds no URL, else the reason naming each one's position and column."""
    items = []
    spans: tuple[_Span, ...] | None = None
    for match in _URL.finditer(body):
        spans = merged() if spans is None else spans
        start, end = match.span()
        text = body[start:end]
        shown = text if len(text) <= _URL_SHOWN else text[:_URL_SHOWN] + "…"
        columns = [name for s, e, name in spans if s <= start < e]
        source = f"（差し込み項目「{columns[0]}」の値）" if columns else ""
        items.append(f"{start + 1}文字目「{shown}」{source}")
    if not items:
        return ""
    return "URLが含まれています: " + "、".join(items) + "。SMSにURL（リンク）は載せられません"


# --- values ---------------------------------------------------------------------------------

# (first day in the Gregorian calendar, era name, Gregorian year of the era's 元年)
_ERAS = (
    (date(2019, 5, 1), "令和", 2019),
    (date(1989, 1, 8), "平成", 1989),
    (date(1926, 12, 25), "昭和", 1926),
    (date(1912, 7, 30), "大正", 1912),
    (date(1873, 1, 1), "明治", 1868),  # Japan took the Gregorian calendar on 明治6年1月1日
)


def _format_date(day: date, style: DateStyle) -> str:
    if style is DateStyle.WAREKI:
        for start, era, first_year in _ERAS:
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


# --- templates ------------------------------------------------------------------------------

_OPEN = "{｛"
_CLOSE = "}｝"


@dataclass(frozen=True)
class _Field:
    name: str  # as shown to staff: NFKC, trimmed
    source: str  # the placeholder as written, kept in a partial body
    keys: tuple[str, ...]  # row keys tried as they are, first match wins
    match: str  # normalised canonical name, for the slow path over the row's keys


def _template_error(text: str, position: int, detail: str, gloss: str) -> SettingsError:
    return SettingsError(
        f"本文の差し込み記号が正しくありません: {position}文字目{detail}。"
        f"文字としての「{{」「}}」は「{{{{」「}}}}」と書いてください。"
        f" / Template error at character {position}: {gloss}."
    )


def _parse(text: str) -> tuple[str | _Field, ...]:
    parts: list[str | _Field] = []
    literal: list[str] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch in _OPEN or ch in _CLOSE:
            pair = _OPEN if ch in _OPEN else _CLOSE
            if i + 1 < n and text[i + 1] in pair:  # {{ or }}: a literal brace
                literal.append(ch)
                i += 2
                continue
            if ch in _CLOSE:
                raise _template_error(
                    text, i + 1, f"の「{ch}」に対応する「{{」がありません", "lone '}'"
                )
            j = i + 1
            while j < n and text[j] not in _CLOSE and text[j] not in "\r\n":
                if text[j] in _OPEN:
                    detail = f"の「{ch}」の中に「{text[j]}」があります"
                    raise _template_error(text, i + 1, detail, "'{' inside a placeholder")
                j += 1
            if j >= n or text[j] not in _CLOSE:
                detail = f"の「{ch}」が閉じられていません（同じ行に「}}」がありません）"
                raise _template_error(text, i + 1, detail, "unclosed '{'")
            name = unicodedata.normalize("NFKC", text[i + 1 : j]).strip()
            if not name:
                raise _template_error(
                    text, i + 1, "の「{}」に列名がありません", "empty placeholder"
                )
            canonical = canonical_name(name)
            keys = tuple(dict.fromkeys((text[i + 1 : j], name, canonical)))
            if literal:
                parts.append("".join(literal))
                literal = []
            parts.append(_Field(name, text[i : j + 1], keys, normalize_header(canonical)))
            i = j + 1
            continue
        literal.append(ch)
        i += 1
    if literal:
        parts.append("".join(literal))
    return tuple(parts)


def _lookup(row: Mapping[str, object], field: _Field) -> tuple[bool, object]:
    for key in field.keys:
        if key in row:
            return True, row[key]
    # Slow path, only when the fast keys miss: a header written differently (width, case, alias).
    for key, value in row.items():
        if normalize_header(canonical_name(key)) == field.match:
            return True, value
    return False, None


def _quoted(names: list[str]) -> str:
    return "".join(f"「{n}」" for n in dict.fromkeys(names))


@dataclass(frozen=True)
class Template:
    """A parsed template: parse once, render each row (rendering reads only that row)."""

    text: str
    parts: tuple[str | _Field, ...]

    @classmethod
    def parse(cls, text: str) -> Template:
        """Raises SettingsError (Japanese, naming the character position) when malformed."""
        return cls(text, _parse(text))

    @property
    def placeholders(self) -> tuple[str, ...]:
        """Names used, in order of first use, without repeats."""
        names = (p.name for p in self.parts if isinstance(p, _Field))
        return tuple(dict.fromkeys(names))

    def used_columns(self, columns: Iterable[str]) -> tuple[str, ...]:
        """The given column names some placeholder refers to (matched as ``render`` matches)."""
        wanted = {p.match for p in self.parts if isinstance(p, _Field)}
        return tuple(c for c in columns if normalize_header(canonical_name(c)) in wanted)

    def missing_columns(self, columns: Iterable[str]) -> tuple[str, ...]:
        """Placeholders no column provides (checked once per sheet, before rows are rendered)."""
        have = {normalize_header(canonical_name(c)) for c in columns}
        fields = (p for p in self.parts if isinstance(p, _Field) and p.match not in have)
        return tuple(dict.fromkeys(f.name for f in fields))

    def render(
        self,
        row: Mapping[str, object],
        *,
        date_style: DateStyle = DateStyle.SEIREKI,
        max_length: int = DEFAULT_MAX_LENGTH,
        number_formats: Mapping[str, str | None] | None = None,
    ) -> BodyCheck:
        """Fill the placeholders from ``row`` and check the result.

        ``row`` maps column names to cell values and must hold every column, with None for an
        empty cell: a key that is absent is reported as a missing column. On ERR_TEMPLATE the
        body keeps the unfilled placeholders as written, and length and segments are 0.
        ``number_formats`` maps column names (as ``row``) to the cells' Excel number formats; a
        number is shown as its format shows it (see ``format_value``).
        """
        out: list[str] = []
        missing: list[str] = []
        empty: list[str] = []
        invalid: list[str] = []
        for part in self.parts:
            if isinstance(part, str):
                out.append(part)
                continue
            found, value = _lookup(row, part)
            text = ""
            if not found:
                missing.append(part.name)
            else:
                number_format = None
                if number_formats:
                    number_format = _lookup(number_formats, part)[1]
                try:
                    text = format_value(
                        value,
                        date_style=date_style,
                        number_format=number_format if isinstance(number_format, str) else None,
                    )
                except ValueError:
                    invalid.append(part.name)
                else:
                    if not text:
                        empty.append(part.name)
            out.append(text or part.source)
        body = "".join(out)
        if missing or empty or invalid:
            reasons = []
            if missing:
                reasons.append(f"差し込み項目{_quoted(missing)}の列がありません")
            if empty:
                reasons.append(f"差し込み項目{_quoted(empty)}が空です")
            if invalid:
                reasons.append(f"差し込み項目{_quoted(invalid)}の値が数値として不正です")
            body = normalise_body(body)
            return BodyCheck(body, 0, 0, ResultCode.ERR_TEMPLATE, "。".join(reasons))
        return _check(normalise_body(body), max_length, lambda: self._merged_spans(out))

    def _merged_spans(self, out: list[str]) -> tuple[_Span, ...]:
        """Where each merged value of a rendering (``out``, part by part) sits in the body."""
        spans = []
        for i, part in enumerate(self.parts):
            if isinstance(part, _Field):
                start = len(normalise_body("".join(out[:i])))
                end = len(normalise_body("".join(out[: i + 1])))
                spans.append((start, end, part.name))
        return tuple(spans)


@lru_cache(maxsize=32)
def _parsed(text: str) -> Template:
    # Keyed by the template text only; a Template is immutable, so sharing it is safe.
    return Template.parse(text)


def placeholders(template: str) -> tuple[str, ...]:
    """Placeholder names in order, without repeats. Raises SettingsError when malformed."""
    return _parsed(template).placeholders


def render(
    template: str,
    row: Mapping[str, object],
    *,
    date_style: DateStyle = DateStyle.SEIREKI,
    max_length: int = DEFAULT_MAX_LENGTH,
    number_formats: Mapping[str, str | None] | None = None,
) -> BodyCheck:
    """Render one row (see ``Template.render``). Raises SettingsError for a malformed template."""
    return _parsed(template).render(
        row, date_style=date_style, max_length=max_length, number_formats=number_formats
    )
