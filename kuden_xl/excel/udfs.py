"""Worksheet functions (UDFs) of the add-in, category "kuden_xl". No network, no workbook access.

Forms (Excel 2016+):

* per cell, filled down: ``=KUDEN_CHECK(C2)`` — the primary form. Scalar results are cached by
  value (``functools.lru_cache``), so a recalculation of 10,000 such cells costs 10,000 cache
  look-ups plus one check per distinct number.
* a range: ``=KUDEN_CHECK(C2:C10001)`` returns an array of the same shape (it spills on Excel
  365). The phone functions check the whole range with one ``phone.check_many`` call.

What Excel hands in (xlwings' COM conversion, ``ndim=2`` for range arguments): numbers as
floats (``9012345678.0``), empty cells as None, dates as ``datetime``. Error cells arrive as
their text (``"#N/A"``) for the phone argument (``err_to_str``, so the reason names them) and as
None elsewhere (an error never lands in a body).

Empty cells: ``KUDEN_CHECK`` / ``KUDEN_VALID`` / ``KUDEN_LENGTH`` of an empty cell return an
empty string, so a formula filled down past the data shows nothing (and does not make a row
look like data, or like a problem).

Unreadable arguments: a ``date_style`` that is not 西暦/和暦, or an ``m2m`` that the yes/no rule
(``kuden_xl.yesno``) reads as neither yes nor no, gives one Japanese text saying what to enter,
in place of the result (also for a range).

Error results: pywin32 drops the error code of a ``VARIANT(VT_ERROR, …)`` returned from the COM
server (xlwings issue #776), so Python cannot hand Excel a real ``#N/A``. A function that
promises ``#N/A`` returns the sentinel text ``NA_SENTINEL`` instead, and is listed in
``ERROR_RESULTS``: the add-in builder wraps its VBA wrapper's result in ``KudenErrors``, which
turns the sentinel (alone or inside an array) into ``CVErr(xlErrNA)``, so ``ISNA`` is TRUE.

Long texts: Excel turns a string over 255 characters inside an *array* result into ``#VALUE!``
(xlwings issue #456). Range forms of ``KUDEN_RENDER`` and ``KUDEN_BADCHARS`` cut such a text
to 254 characters and end it with ``…``; one cell (a scalar result) is unaffected.

Argument names are ASCII because they become VBA parameter names; the Japanese descriptions
reach the function wizard through ``doc``.
"""

from __future__ import annotations

import functools
import unicodedata
from collections.abc import Callable
from typing import Any, TypeVar

import xlwings as xw

from ..errors import SettingsError
from ..message import DateStyle, bad_chars, count, format_value, render
from ..phone import PhoneCheck, check, check_many
from ..schema import SENDABLE
from ..yesno import yes_no

CATEGORY = "kuden_xl"
NA_SENTINEL = "#N/A"  # the wrapper's KudenErrors turns it into CVErr(xlErrNA)
ERROR_RESULTS = frozenset({"KUDEN_NORMALIZE"})  # functions whose wrapper converts the sentinel
ARRAY_TEXT_LIMIT = 255  # longer strings in an array result become #VALUE! in Excel

F = TypeVar("F", bound=Callable[..., Any])


# xlwings' decorators are untyped (and no-ops off Windows); these keep the functions typed.
def _func(**options: Any) -> Callable[[F], F]:
    decorator: Callable[[F], F] = xw.func(**options)
    return decorator


def _arg(name: str, **options: Any) -> Callable[[F], F]:
    decorator: Callable[[F], F] = xw.arg(name, **options)
    return decorator


def _fits_array(text: str) -> str:
    """A text as an element of an array result: at most 255 characters (else #VALUE!)."""
    return text if len(text) <= ARRAY_TEXT_LIMIT else text[: ARRAY_TEXT_LIMIT - 1] + "…"


def _blank(value: Any) -> bool:
    return value is None or value == ""


# --- shapes ----------------------------------------------------------------------------------


def _shaped(value: Any, one: Callable[[Any], Any], many: Callable[[list[Any]], list[Any]]) -> Any:
    """Apply ``one`` to a scalar, ``many`` to every cell of a range, keeping the shape."""
    if not isinstance(value, list):
        return one(value)
    if value and all(isinstance(row, list) for row in value):
        if len(value) == 1 and len(value[0]) == 1:
            return [[one(value[0][0])]]
        results = iter(many([v for row in value for v in row]))
        return [[next(results) for _ in row] for row in value]
    return many(value)  # a 1-D list (a plain Python caller)


def _flag(value: Any) -> bool | None:
    """An optional yes/no argument by the yes/no rule (TRUE, 1, 許可, はい…); an empty cell is
    no. None: not a yes/no value, which the function reports instead of a result."""
    return False if value is None else yes_no(value)


@functools.lru_cache(maxsize=100_000, typed=True)
def _check_cached(value: Any, allow_m2m: bool) -> PhoneCheck:
    return check(value, allow_m2m=allow_m2m)


def _check_one(value: Any, allow_m2m: bool) -> PhoneCheck:
    try:
        return _check_cached(value, allow_m2m)
    except TypeError:  # an unhashable value: no caching
        return check(value, allow_m2m=allow_m2m)


def _phone(number: Any, m2m: Any, project: Callable[[PhoneCheck], Any]) -> Any:
    """``project`` of each cell's check; an empty cell gives an empty string (a formula filled
    down past the data shows nothing)."""
    allow = _flag(m2m)
    if allow is None:
        return f"020番号の指定「{m2m}」は「許可」か「不可」（TRUE か FALSE）で指定してください。"
    return _shaped(
        number,
        lambda v: "" if _blank(v) else project(_check_one(v, allow)),
        lambda vs: [
            "" if _blank(v) else project(c)
            for v, c in zip(vs, check_many(vs, allow_m2m=allow), strict=True)
        ],
    )


_NUMBER_DOC = "電話番号のセルまたは範囲（範囲なら同じ形の配列を返します）"
_M2M_DOC = (
    "省略可。TRUE・1・「許可」・「はい」で 020 番号（M2M・IoT用）も送信可とみなします"
    "（FALSE・0・「不可」・「いいえ」・空欄は不可。それ以外の値では指定の誤りを返します）"
)


@_func(category=CATEGORY)
@_arg("number", ndim=2, err_to_str=True, doc=_NUMBER_DOC)
@_arg("m2m", doc=_M2M_DOC)
def KUDEN_CHECK(number: Any, m2m: Any = False) -> Any:
    """SMSを受け取れる携帯番号なら OK、そうでなければ送れない理由を返します。空欄は空欄。"""
    return _phone(number, m2m, lambda c: SENDABLE if c.ok else c.reason)


@_func(category=CATEGORY)
@_arg("number", ndim=2, err_to_str=True, doc=_NUMBER_DOC)
@_arg("m2m", doc=_M2M_DOC)
def KUDEN_VALID(number: Any, m2m: Any = False) -> Any:
    """SMSを受け取れる携帯番号なら TRUE、そうでなければ FALSE を返します。空欄は空欄。"""
    return _phone(number, m2m, lambda c: c.ok)


@_func(category=CATEGORY)
@_arg("number", ndim=2, err_to_str=True, doc=_NUMBER_DOC)
def KUDEN_NORMALIZE(number: Any) -> Any:
    """番号を 09012345678 の形（ハイフンなし）に整えます。読めない番号は #N/A、空欄は空欄。"""

    def project(value: Any, c: PhoneCheck) -> Any:
        if c.national:
            return c.national
        blank = value is None or (isinstance(value, str) and not value.strip())
        return "" if blank else NA_SENTINEL

    return _shaped(
        number,
        lambda v: project(v, _check_one(v, False)),
        lambda vs: [project(v, c) for v, c in zip(vs, check_many(vs), strict=True)],
    )


# --- bodies ----------------------------------------------------------------------------------


def _text(value: Any) -> str:
    """A body cell as text (a number or date as it would appear in a message)."""
    if value is None or isinstance(value, str):
        return value or ""
    try:
        return format_value(value)
    except ValueError:  # NaN or infinite
        return str(value)


def _bad_list(body: str) -> str:
    items = []
    for b in bad_chars(body):
        shown = f"「{b.char}」" if b.char.isprintable() and not b.char.isspace() else b.codepoint
        r = b.replacement
        hint = "（置き換え候補なし）" if r is None else f"→{r}" if r.strip() else f"→「{r}」"
        items.append(f"{b.position}文字目{shown}{hint}")
    return "、".join(items)


# Cached by body text: a filled-down column recalculates each distinct body once.
_count = functools.lru_cache(maxsize=100_000)(count)
_bad = functools.lru_cache(maxsize=100_000)(_bad_list)


def _per_body(value: Any, fn: Callable[[str], Any], *, blank: Any = None) -> Any:
    """``fn`` of each body; an empty cell gives ``blank`` when given. Text results of a range
    are kept within Excel's 255 characters per array element."""

    def one(v: Any) -> Any:
        return blank if blank is not None and _blank(v) else fn(_text(v))

    def many(vs: list[Any]) -> list[Any]:
        return [_fits_array(r) if isinstance(r, str) else r for r in map(one, vs)]

    return _shaped(value, one, many)


_BODY_DOC = "本文のセルまたは範囲"


@_func(category=CATEGORY)
@_arg("body", ndim=2, doc=_BODY_DOC)
def KUDEN_LENGTH(body: Any) -> Any:
    """本文の文字数を返します（改行も1文字）。空欄は空欄。"""
    return _per_body(body, lambda t: _count(t)[0], blank="")


@_func(category=CATEGORY)
@_arg("body", ndim=2, doc=_BODY_DOC)
def KUDEN_SEGMENTS(body: Any) -> Any:
    """本文が何通分の料金になるかを返します（70文字まで1通、超えると67文字ごとに1通）。"""
    return _per_body(body, lambda t: _count(t)[1])


@_func(category=CATEGORY)
@_arg("body", ndim=2, doc=_BODY_DOC)
def KUDEN_BADCHARS(body: Any) -> Any:
    """SMSで使えない文字（①・㈱・絵文字など）を位置と置き換え候補つきで返します。なければ空欄。"""
    return _per_body(body, _bad)


@functools.lru_cache(maxsize=10_000)
def _render_one(
    template: str,
    headers: tuple[Any, ...],
    row: tuple[Any, ...],
    types: tuple[type, ...],
    style: str,
) -> str:
    # ``types`` is part of the cache key only: TRUE and 1 are equal keys but render differently.
    values = {str(h).strip(): v for h, v in zip(headers, row, strict=True) if h not in (None, "")}
    try:
        result = render(template, values, date_style=DateStyle(style))
    except SettingsError as exc:
        return str(exc)
    return result.body if result.ok else result.reason


def _rows(value: Any) -> list[list[Any]]:
    """A range argument as rows (a scalar is one cell, a 1-D list one row)."""
    if not isinstance(value, list):
        return [[value]]
    if value and all(isinstance(r, list) for r in value):
        return value
    return [value]


def _date_style(value: Any) -> str | None:
    if value is None or value == "":
        return DateStyle.SEIREKI.value
    text = unicodedata.normalize("NFKC", str(value)).strip()
    return text if text in {s.value for s in DateStyle} else None


@_func(category=CATEGORY)
@_arg("template", doc="本文（{氏名} のような差し込みを含む文面）のセル")
@_arg("headers", ndim=2, doc="見出し行の範囲（例: $A$1:$F$1）")
@_arg("row", ndim=2, doc="差し込む行の範囲（例: A2:F2。複数行なら1行ごとの本文を返します）")
@_arg("date_style", doc="省略可。日付の書き方: 西暦（既定）または 和暦")
def KUDEN_RENDER(template: Any, headers: Any, row: Any, date_style: Any = None) -> Any:
    """その行に届く本文を返します。送れない場合（差し込み不足・文字数超過など）は理由を返します。"""
    style = _date_style(date_style)
    if style is None:
        return f"日付形式「{date_style}」は「西暦」か「和暦」で指定してください。"
    text = _text(_rows(template)[0][0])
    if not text.strip():
        return "本文がありません。"
    head = tuple(_rows(headers)[0])
    rows = _rows(row)
    if any(len(r) != len(head) for r in rows):
        return "見出し範囲と行範囲の列数が違います。同じ列数の範囲を指定してください。"
    bodies = [_render_one(text, head, tuple(r), tuple(type(v) for v in r), style) for r in rows]
    return bodies[0] if len(bodies) == 1 else [[_fits_array(b)] for b in bodies]
