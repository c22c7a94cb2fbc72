"""A file → its sheets as grids of cell values: python-calamine, openpyxl read-only, or CSV.

python-calamine (Rust) reads workbooks; openpyxl read-only is the fallback when calamine is
missing or fails on a file, and the benchmark's baseline. CSV is UTF-8 (with or without BOM) or
cp932. Values are the readers' own (``values`` makes them alike).
"""

from __future__ import annotations

import csv
import gc
import io
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from ..books.xlsxfile import refuse_unreadable
from ..errors import KudenError, WorkbookError

CSV_SHEET = "CSV"


class Unreadable(KudenError):
    """A file the report cannot read; the message is the reason shown in 読込エラー."""


Grid = Sequence[Sequence[object]]  # a sheet's rows from A1, values as Python objects


def _calamine_sheets(path: Path) -> list[tuple[str, Grid]]:
    import python_calamine

    book = python_calamine.CalamineWorkbook.from_path(str(path))
    with gc_paused():  # a grid is rows of plain values: nothing for the collector to find
        return [
            (name, book.get_sheet_by_name(name).to_python(skip_empty_area=False))
            for name in book.sheet_names
        ]


def _openpyxl_sheets(path: Path) -> Iterator[tuple[str, Grid]]:
    import openpyxl

    book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    try:
        for ws in book.worksheets:
            if not hasattr(ws, "iter_rows"):
                continue  # a chartsheet
            ws.reset_dimensions()  # the dimension tag may lie; read what is there
            yield ws.title, list(ws.iter_rows(values_only=True))
    finally:
        book.close()


def _csv_sheets(path: Path) -> Iterator[tuple[str, Grid]]:
    raw = path.read_bytes()
    for encoding in ("utf-8-sig", "cp932"):
        try:
            decoded = raw.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise Unreadable("文字コードを判別できません（UTF-8 か Shift_JIS で保存してください）")
    yield CSV_SHEET, list(csv.reader(io.StringIO(decoded, newline="")))


def read_sheets(path: Path, engine: str) -> list[tuple[str, Grid]]:
    """Every sheet of ``path`` as (name, grid) by ``engine`` (``auto``: calamine, else openpyxl).

    Raises:
        Unreadable: the file is damaged, protected or not a workbook; the message says why.
        OSError: the file cannot be opened (the caller names the reason).
    """
    if path.suffix.lower() == ".csv":
        return list(_csv_sheets(path))
    try:
        refuse_unreadable(path)  # password, .xls, CSV renamed, not a zip, zip bomb: named
    except WorkbookError as exc:
        raise Unreadable(str(exc).split(" / ")[0]) from exc
    if engine != "openpyxl":
        try:
            return _calamine_sheets(path)
        except ImportError:
            if engine == "calamine":
                raise
        except Exception:  # calamine failed on this file: openpyxl decides (and names the fault)
            pass
    try:
        return list(_openpyxl_sheets(path))
    except Exception as exc:  # openpyxl raises many types for a damaged file
        raise Unreadable(f"ファイルが壊れていて読めません（{type(exc).__name__}）") from exc


@contextmanager
def gc_paused() -> Iterator[None]:
    """The cyclic garbage collector off for a while, e.g. while records are made: they hold no
    cycles, and each collection would walk every record made so far (a year: a quarter million)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
