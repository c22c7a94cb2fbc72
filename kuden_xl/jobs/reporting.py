"""The yearly report job: read the send workbooks and CSV records, write the report workbook.

The report's readers load lazily, only when a report is built.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ..clock import now

if TYPE_CHECKING:
    from ..report.summarize import Summary

REPORT_NAME = "SMS年次レポート_{}年度.xlsx"
FileProgress = Callable[[int, int, Path], None]


@dataclass(frozen=True)
class ReportOutcome:
    """A written yearly report: where it is and the figures in it."""

    path: Path
    summary: Summary


def report(
    paths: Sequence[Path],
    *,
    fiscal_year: int | None = None,
    output: Path | None = None,
    progress: FileProgress | None = None,
    engine: str = "auto",
) -> ReportOutcome:
    """Read the send workbooks and CSV records under ``paths`` and write the yearly report.

    Args:
        paths: files and folders (searched recursively); unreadable files are listed in the
            report's 読込エラー sheet, never raised.
        fiscal_year: 年度 (2026 = 2026-04-01 … 2027-03-31); default: today's, Japan time.
        output: the report file; default ``SMS年次レポート_<年度>年度.xlsx`` in the first folder
            given (or the first file's folder). Earlier reports there are not read as input.
        progress: called after each file with (done, total, path).
        engine: the workbook reader (``auto``: calamine, openpyxl where calamine fails).

    Raises:
        WorkbookError: the report cannot be saved.
    """
    from ..report.collect import collect
    from ..report.render import render
    from ..report.summarize import fiscal_year_of, summarize

    year = fiscal_year if fiscal_year is not None else fiscal_year_of(now().date())
    if output is None:
        first = Path(paths[0]) if paths else Path(".")
        output = (first if first.is_dir() else first.parent) / REPORT_NAME.format(year)
    folders = [Path(p) for p in paths if Path(p).is_dir()]
    earlier = [p for folder in folders for p in folder.rglob(REPORT_NAME.format("*"))]
    collection = collect(paths, engine=engine, progress=progress, exclude=[output, *earlier])
    summary = summarize(collection, year)
    return ReportOutcome(render(summary, output), summary)
