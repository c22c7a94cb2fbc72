"""Message bodies: templates (差し込み ``{氏名}``) rendered row by row, counted and checked
(DESIGN §3, §5).

Decisions (where the design left a choice; placeholders: see ``template_syntax.py``, how a
cell value reads: see ``value_text.py``):

- A merged value that is NaN or infinite makes the body ERR_TEMPLATE.
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

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache

from .charset import BadChar, bad_char_reason, bad_chars, normalise_body
from .schema import ResultCode, canonical_name, normalize_header
from .template_syntax import Field, lookup, parse_template
from .value_text import DateStyle, format_value

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


# --- templates ------------------------------------------------------------------------------


def _quoted(names: list[str]) -> str:
    return "".join(f"「{n}」" for n in dict.fromkeys(names))


@dataclass(frozen=True)
class Template:
    """A parsed template: parse once, render each row (rendering reads only that row)."""

    text: str
    parts: tuple[str | Field, ...]

    @classmethod
    def parse(cls, text: str) -> Template:
        """Raises SettingsError (Japanese, naming the character position) when malformed."""
        return cls(text, parse_template(text))

    @property
    def placeholders(self) -> tuple[str, ...]:
        """Names used, in order of first use, without repeats."""
        names = (p.name for p in self.parts if isinstance(p, Field))
        return tuple(dict.fromkeys(names))

    def used_columns(self, columns: Iterable[str]) -> tuple[str, ...]:
        """The given column names some placeholder refers to (matched as ``render`` matches)."""
        wanted = {p.match for p in self.parts if isinstance(p, Field)}
        return tuple(c for c in columns if normalize_header(canonical_name(c)) in wanted)

    def missing_columns(self, columns: Iterable[str]) -> tuple[str, ...]:
        """Placeholders no column provides (checked once per sheet, before rows are rendered)."""
        have = {normalize_header(canonical_name(c)) for c in columns}
        fields = (p for p in self.parts if isinstance(p, Field) and p.match not in have)
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
            found, value = lookup(row, part)
            text = ""
            if not found:
                missing.append(part.name)
            else:
                number_format = None
                if number_formats:
                    number_format = lookup(number_formats, part)[1]
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
            if isinstance(part, Field):
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
