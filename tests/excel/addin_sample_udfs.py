"""A small UDF module for the add-in builder's tests (stands in for kuden_xl.excel.udfs)."""

from __future__ import annotations

from typing import Any

import xlwings as xw


@xw.func
@xw.arg("number", doc="電話番号")
def SAMPLE_DIGITS(number: Any) -> str:
    """Only the digits of a value."""
    return "".join(ch for ch in str(number) if ch.isdigit())


@xw.func(category="kuden_xl")
@xw.arg("values", ndim=2)
def SAMPLE_COUNT(values: list[list[Any]], blank: str = "") -> int:
    """Count the non-empty cells of a range (one call per range, never per cell)."""
    return sum(1 for row in values for v in row if v not in (None, blank))


@xw.func
def SAMPLE_JOIN(*parts: Any) -> str:
    return "-".join(str(p) for p in parts if p is not None)


def not_a_udf() -> None:
    """No decorator: gets no wrapper."""
