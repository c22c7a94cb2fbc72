"""A tiny Excel stand-in for xlwings' remote engine (research/xlwings.md §1.6).

``make_payload`` builds what the VBA client would send, ``run_macro`` calls a RunPython entry
point against ``xw.Book(json=payload)`` with ``set_mock_caller()``, and ``apply_actions`` writes
the returned actions back onto a copy of the payload, as Excel would show them:

* ``setValues`` strings lose one leading apostrophe (Excel stores it as the quote prefix, not as
  part of the value); written date-times stay the remote engine's ``'YYYY-MM-DD HH:MM:SS'`` text;
* sheets are added, cleared and activated; alerts are recorded with their arguments;
* formats and the rest are recorded only (``Run.other``), for tests to assert on.

The remote engine cannot answer an alert (it returns None) and has no status bar or row
visibility: that is why the ribbon takes its confirmation and progress as arguments, and why no
row is hidden here.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

os.environ.setdefault("XLWINGS_LICENSE_KEY", "noncommercial")  # before importing xlwings

import xlwings as xw  # noqa: E402
from xlwings.pro import _xlremote  # noqa: E402

Payload = dict[str, Any]


def make_payload(
    sheets: dict[str, Sequence[Sequence[Any]]],
    *,
    active: int = 0,
    selection: str | None = "A1",
    book: str = "送信リスト.xlsx",
) -> Payload:
    """A VBA-client payload. Cell values as Excel sends them: numbers as floats, dates as ISO
    strings ending in Z, empty cells as ''."""
    return {
        "client": "VBA",
        "version": xw.__version__,
        "book": {"name": book, "active_sheet_index": active, "selection": selection},
        "names": [],
        "sheets": [
            {
                "name": name,
                "values": [["" if v is None else v for v in row] for row in values] or [[]],
                "pictures": [],
                "tables": [],
            }
            for name, values in sheets.items()
        ],
    }


@dataclass
class Run:
    """What one macro call did: the payload after its actions, the raw actions, alerts."""

    payload: Payload
    actions: list[dict[str, Any]]
    alerts: list[dict[str, Any]] = field(default_factory=list)
    other: list[dict[str, Any]] = field(default_factory=list)

    def funcs(self, name: str) -> list[dict[str, Any]]:
        return [a for a in self.actions if a["func"] == name]

    def sheet(self, name: str) -> list[list[Any]]:
        return next(s["values"] for s in self.payload["sheets"] if s["name"] == name)


def _grow(values: list[list[Any]], nrows: int, ncols: int) -> None:
    width = max([ncols] + [len(r) for r in values])
    for r in values:
        r.extend([""] * (width - len(r)))
    while len(values) < nrows:
        values.append([""] * width)


def _as_excel_stores(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, str) and value.startswith("'"):
        return value[1:]
    return value


def apply_actions(payload: Payload, actions: list[dict[str, Any]], run: Run) -> Payload:
    p = copy.deepcopy(payload)
    sheets = p["sheets"]
    for a in actions:
        f = a["func"]
        position = a.get("sheet_position")
        sh = sheets[position] if position is not None else None
        if f in ("setValues", "rangeClearContents", "rangeClear"):
            assert sh is not None
            r0, c0, nr, nc = a["start_row"], a["start_column"], a["row_count"], a["column_count"]
            vals = a["values"] if f == "setValues" else [[""] * nc for _ in range(nr)]
            if sh["values"] == [[]]:
                sh["values"] = []
            _grow(sh["values"], r0 + nr, c0 + nc)
            for i, row in enumerate(vals):
                for j, v in enumerate(row):
                    sh["values"][r0 + i][c0 + j] = _as_excel_stores(v)
        elif f == "addSheet":
            ix, name = a["args"]
            sheets.insert(ix, {"name": name, "values": [[]], "pictures": [], "tables": []})
            p["book"]["active_sheet_index"] = ix
        elif f in ("sheetClear", "sheetClearContents"):
            assert sh is not None
            sh["values"] = [[]]
        elif f == "activateSheet":
            p["book"]["active_sheet_index"] = a["args"][0]
        elif f == "alert":
            keys = ["prompt", "title", "buttons", "mode", "callback"]
            run.alerts.append(dict(zip(keys, a["args"], strict=True)))
        else:
            run.other.append(a)
    return p


def open_book(payload: Payload) -> Any:
    """An isolated remote book (its own App, so books never pile up between tests)."""
    app = _xlremote.App(_xlremote.Apps(), add_book=False)
    return xw.Book(impl=app.books.open(copy.deepcopy(payload)))


def run_macro(macro: Callable[[], None], payload: Payload) -> Run:
    """Call ``macro()`` the way RunPython would (``xw.Book.caller()``); apply its actions."""
    book = open_book(payload)
    book.set_mock_caller()
    try:
        macro()
    finally:
        del xw.Book._mock_caller
    actions = book.json()["actions"]
    run = Run(payload, actions)
    run.payload = apply_actions(payload, actions, run)
    return run


def column(values: list[list[Any]], name: str, header_row: int = 1) -> dict[int, Any]:
    """Sheet row number -> value of the column headed ``name`` (rows below the header)."""
    header = values[header_row - 1]
    c = header.index(name)
    return {
        r: (row[c] if c < len(row) else "")
        for r, row in enumerate(values[header_row:], start=header_row + 1)
    }


class RefusingSheet:
    """A worksheet whose cells Excel will not change (stands in for a COM error, e.g. the sheet
    was protected while a send ran)."""

    def __init__(self, name: str) -> None:
        self.name = name

    def range(self, *cells: Any) -> RefusingSheet:
        return self

    @property
    def value(self) -> None:
        return None

    @value.setter
    def value(self, matrix: Any) -> None:
        raise OSError(-2146827284, "このコマンドは保護されたシートでは使用できません")
