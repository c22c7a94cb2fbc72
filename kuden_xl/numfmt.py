"""A number as Excel shows it under a cell's number format (issue 10 item 9).

Covers what a 金額 or 件数 column of a municipal list carries: ``General``; digit placeholders
``0 # ?``; the decimal point; the thousands separator and the trailing-comma scale (``#,``,
``0.0,,``); ``%``; scientific ``0.00E+00``; up to four sections (positive; negative; zero; text);
literals (``"円"``, ``\\-``, ``円`` unquoted); ``_x`` (a space) and ``*x`` (a fill, dropped); colour
tags; and the currency/locale tag ``[$¥-411]``. The semantics are Excel's documented ones
(Microsoft's "Number format codes"; ECMA-376 Part 1 §18.8.31): rounding half away from zero on the
15 significant digits Excel keeps, extra integer digits shown at the first placeholder, separators
placed among padded zeros too (``0,000`` shows 16 as ``0,016``).

What it does not render (dates and times, fractions ``# ?/?``, conditions ``[>100]``, ``[DBNum1]``
numerals, an ``@`` section for a number) gives None: the caller shows the value its own way. A
yen sign is given as ``￥`` (U+FFE5), the form an SMS in CP932 can carry.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

__all__ = ["format_number", "general"]

_YEN = str.maketrans({"¥": "￥"})


def general(value: int | float | Decimal) -> str:
    """Excel's General format: no separators, at most 15 significant digits, no float noise."""
    number = _decimal(value)
    if number == number.to_integral_value() and abs(number) < Decimal(10) ** 15:
        return str(int(number))
    if number != 0 and not Decimal("1e-9") <= abs(number) < Decimal(10) ** 15:
        mantissa, exponent = f"{number:.5E}".split("E")
        mantissa = mantissa.rstrip("0").rstrip(".")
        return f"{mantissa}E{int(exponent):+03d}"
    text = format(number.normalize(), "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def format_number(value: int | float | Decimal, number_format: str | None) -> str | None:
    """``value`` as Excel shows it under ``number_format``; None when the format is not covered.

    ``None`` or ``General`` gives ``general(value)``.

    Raises:
        ValueError: ``value`` is NaN or infinite.
    """
    number = _decimal(value)
    if number_format is None or number_format.strip().lower() in ("", "general"):
        return general(number)
    sections = _split_sections(number_format)
    if sections is None or len(sections) > 4:
        return None
    if number < 0 and len(sections) >= 2:
        section, number, sign = sections[1], -number, ""
    elif number == 0 and len(sections) >= 3:
        section, sign = sections[2], ""
    else:
        section, sign = sections[0], "-" if number < 0 else ""
        number = abs(number)
    tokens = _tokenise(section)
    if tokens is None:
        return None
    try:
        text = _render(number, tokens)
    except InvalidOperation:  # more digits than a Decimal holds: far beyond any amount
        return None
    return None if text is None else sign + text


def _decimal(value: int | float | Decimal) -> Decimal:
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"not a finite number: {value}")
        return Decimal(f"{value:.15g}")  # the 15 significant digits Excel keeps
    number = Decimal(value)
    if not number.is_finite():
        raise ValueError(f"not a finite number: {value}")
    return number


def _split_sections(number_format: str) -> list[str] | None:
    sections, current, i = [], [], 0
    while i < len(number_format):
        ch = number_format[i]
        if ch == '"':
            end = number_format.find('"', i + 1)
            if end < 0:
                return None
            current.append(number_format[i : end + 1])
            i = end + 1
            continue
        if ch in "\\_*" and i + 1 < len(number_format):
            current.append(number_format[i : i + 2])
            i += 2
            continue
        if ch == ";":
            sections.append("".join(current))
            current = []
        else:
            current.append(ch)
        i += 1
    sections.append("".join(current))
    return sections


@dataclass(frozen=True)
class _Token:
    kind: str  # 'lit', 'digit', 'dot', 'comma', 'percent', 'exp', 'general'
    text: str


_COLOUR = re.compile(r"\[(?:black|blue|cyan|green|magenta|red|white|yellow|color\s*\d+)\]", re.I)
_CURRENCY = re.compile(r"\[\$([^-\]]*)(?:-[0-9A-Fa-f]+)?\]")
_DATE_LETTERS = set("yYmMdDhHsSgGeEbBaA")


def _tokenise(section: str) -> list[_Token] | None:
    tokens: list[_Token] = []
    i, n = 0, len(section)
    while i < n:
        ch = section[i]
        rest = section[i:]
        if ch == '"':
            end = section.index('"', i + 1)
            tokens.append(_Token("lit", section[i + 1 : end]))
            i = end + 1
        elif ch == "\\" and i + 1 < n:
            tokens.append(_Token("lit", section[i + 1]))
            i += 2
        elif ch == "_" and i + 1 < n:
            tokens.append(_Token("lit", " "))
            i += 2
        elif ch == "*" and i + 1 < n:
            i += 2  # a fill to the cell's width: nothing in a message
        elif ch == "[":
            colour = _COLOUR.match(rest)
            currency = _CURRENCY.match(rest)
            if colour is not None:
                i += colour.end()
            elif currency is not None:
                tokens.append(_Token("lit", currency[1]))
                i += currency.end()
            else:
                return None  # a condition, [DBNum1], elapsed time …
        elif rest[:7].lower() == "general":
            tokens.append(_Token("general", ""))
            i += 7
        elif ch in "0#?":
            tokens.append(_Token("digit", ch))
            i += 1
        elif ch == ".":
            tokens.append(_Token("dot", ch))
            i += 1
        elif ch == ",":
            tokens.append(_Token("comma", ch))
            i += 1
        elif ch == "%":
            tokens.append(_Token("percent", ch))
            i += 1
        elif ch in "eE" and i + 1 < n and section[i + 1] in "+-":
            tokens.append(_Token("exp", section[i : i + 2]))
            i += 2
        elif ch in _DATE_LETTERS or ch in "/@":
            return None  # a date or time, a fraction, text: not a number format we render
        else:
            tokens.append(_Token("lit", ch))
            i += 1
    return tokens


def _render(number: Decimal, tokens: list[_Token]) -> str | None:
    if any(t.kind == "general" for t in tokens):
        return "".join(general(number) if t.kind == "general" else _literal(t) for t in tokens)
    digits = [i for i, t in enumerate(tokens) if t.kind == "digit"]
    if not digits:  # only literals: Excel shows them, whatever the number
        return "".join(_literal(t) for t in tokens)
    exponent_at = next((i for i, t in enumerate(tokens) if t.kind == "exp"), None)
    mantissa_end = exponent_at if exponent_at is not None else len(tokens)
    dot_at = next((i for i, t in enumerate(tokens[:mantissa_end]) if t.kind == "dot"), mantissa_end)
    integer_slots = [i for i in digits if i < dot_at]
    fraction_slots = [i for i in digits if dot_at < i < mantissa_end]
    exponent_slots = [i for i in digits if exponent_at is not None and i > exponent_at]
    last_digit = max(i for i in digits if i < mantissa_end)

    # A comma between two integer placeholders groups thousands; commas right after the last
    # placeholder of the mantissa each divide by 1,000.
    grouping = any(
        t.kind == "comma" and integer_slots and integer_slots[0] < i < integer_slots[-1]
        for i, t in enumerate(tokens)
    )
    scale = 0
    for t in tokens[last_digit + 1 : mantissa_end]:
        if t.kind != "comma":
            break
        scale += 1
    number = number.scaleb(2 * sum(t.kind == "percent" for t in tokens) - 3 * scale)

    out = {i: _literal(t) for i, t in enumerate(tokens)}
    for i, t in enumerate(tokens):
        if t.kind == "comma":
            out[i] = ""
    exponent = 0
    if exponent_at is not None:
        if number != 0:
            exponent = number.adjusted() - (len(integer_slots) - 1 if integer_slots else -1)
        number = number.scaleb(-exponent)
    rounded = number.quantize(Decimal(1).scaleb(-len(fraction_slots)), rounding=ROUND_HALF_UP)
    if exponent_at is not None and integer_slots and rounded >= Decimal(10) ** len(integer_slots):
        exponent += 1  # 9.999E+00 rounded up to 10.00: one more power of ten
        rounded = number.scaleb(-1).quantize(rounded, rounding=ROUND_HALF_UP)
    whole, _, fraction = f"{rounded:f}".partition(".")
    _fill_integer(whole.lstrip("0"), [(i, tokens[i].text) for i in integer_slots], grouping, out)
    _fill_fraction(fraction, [(i, tokens[i].text) for i in fraction_slots], out)
    if exponent_at is not None:
        sign = "-" if exponent < 0 else ("+" if tokens[exponent_at].text[1] == "+" else "")
        out[exponent_at] = tokens[exponent_at].text[0] + sign
        _fill_integer(
            str(abs(exponent)).lstrip("0"), [(i, "0") for i in exponent_slots], False, out
        )
    return "".join(out[i] for i in range(len(tokens)))


def _literal(token: _Token) -> str:
    if token.kind in ("lit", "dot", "percent"):
        return token.text.translate(_YEN)
    return ""


def _fill_integer(
    digits: str, slots: list[tuple[int, str]], grouping: bool, out: dict[int, str]
) -> None:
    """Digits right to left into the placeholders; extra digits go to the first placeholder."""
    shown = 0
    pending = list(digits)
    for position, (index, placeholder) in enumerate(reversed(slots)):
        first = position == len(slots) - 1
        take = len(pending) if first else min(1, len(pending))
        chars = pending[len(pending) - take :] if take else []
        del pending[len(pending) - take :]
        if not chars:
            chars = ["0"] if placeholder == "0" else ([" "] if placeholder == "?" else [])
        text = ""
        for ch in reversed(chars):
            if grouping and ch != " " and shown and shown % 3 == 0:
                text = "," + text
            text = ch + text
            shown += ch != " "
        out[index] = text


def _fill_fraction(digits: str, slots: list[tuple[int, str]], out: dict[int, str]) -> None:
    """Fraction digits left to right; trailing zeros vanish under # and become spaces under ?."""
    trailing = True
    for (index, placeholder), ch in reversed(list(zip(slots, digits, strict=True))):
        if trailing and ch == "0" and placeholder != "0":
            out[index] = " " if placeholder == "?" else ""
            continue
        trailing = False
        out[index] = ch
