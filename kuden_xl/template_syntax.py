"""A body template's placeholder syntax: the text parsed into literal parts and fields, and a
field found among a row's columns.

Placeholders are ``{列名}``; the name is NFKC-normalised and trimmed, so ``{ 氏名 }`` works, and
is matched to the row's keys like a header (``normalize_header`` / ``canonical_name``; aliases
such as ``{phone}`` find 電話番号). Full-width braces ``｛氏名｝`` are placeholders too: an IME
types them easily, and sending them literally to residents would be worse than refusing.
``{{`` ``}}`` (and ``｛｛`` ``｝｝``) are a literal brace. ``{`` with no ``}`` on the same line,
a lone ``}``, ``{}`` and ``{a{b}`` are template errors (SettingsError).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass

from .errors import SettingsError
from .schema import canonical_name, normalize_header

_OPEN = "{｛"
_CLOSE = "}｝"


@dataclass(frozen=True)
class Field:
    """One placeholder of a template."""

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


def parse_template(text: str) -> tuple[str | Field, ...]:
    """The template's literal parts and fields, in order. Raises SettingsError when malformed."""
    parts: list[str | Field] = []
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
            parts.append(Field(name, text[i : j + 1], keys, normalize_header(canonical)))
            i = j + 1
            continue
        literal.append(ch)
        i += 1
    if literal:
        parts.append("".join(literal))
    return tuple(parts)


def lookup(row: Mapping[str, object], field: Field) -> tuple[bool, object]:
    """(found, value) of ``field`` in ``row``: its keys as written first, then any key that
    normalises to the same column name."""
    for key in field.keys:
        if key in row:
            return True, row[key]
    # Slow path, only when the fast keys miss: a header written differently (width, case, alias).
    for key, value in row.items():
        if normalize_header(canonical_name(key)) == field.match:
            return True, value
    return False, None
