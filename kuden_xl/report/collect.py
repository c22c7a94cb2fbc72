"""Read send workbooks and CSV records into report records, fast, and never crash on a file.

Files and folders (recursively): ``.xlsx``, ``.xlsm`` and ``.csv``. Every sheet whose header
matches the worksheet contract (``schema.find_header``: a row holding 電話番号 or an alias, in the
first rows) is read (``readers`` turns a file into grids of cell values). A file that cannot be
read is listed with the reason; a lock file ``~$x.xlsx`` is skipped silently.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from functools import partial
from operator import itemgetter
from pathlib import Path
from typing import Any, NamedTuple, cast

from .. import schema
from ..books.base import HEADER_SCAN_ROWS, settings_from_rows
from ..books.xlsx import open_locks
from ..config import campaign_settings, read_config_file
from ..errors import HeaderError, KudenError
from .readers import Grid, Unreadable, gc_paused, read_sheets
from .values import integer, text, to_date, to_datetime

SUFFIXES = (".xlsx", ".xlsm", ".csv")
PURPOSE = "用途"
DUE = "納期限"
PAID = "納付日"
ENGINES = ("auto", "calamine", "openpyxl")


Progress = Callable[[int, int, Path], None]


class Record(NamedTuple):
    """One worksheet row with a result code (or, for the reference group, a 納期限).

    A NamedTuple, not a dataclass: a year of records is a quarter of a million of them.
    """

    file: str
    sheet: str
    row: int
    id: str  # 管理番号
    purpose: str  # 用途: the row's, else the workbook's 設定
    sent_at: datetime | None  # naive, Japan time
    code: str  # 結果コード ('' when the row was never processed)
    segments: int
    delivery: str  # 配信結果 as written: 配信済, 不達（圏外）…
    due: date | None  # 納期限
    paid: date | None  # 納付日
    number: str  # 電話番号 as written (for duplicates; never rendered in full)
    body: str  # 送信本文
    unit_price: float  # yen per segment from the workbook's settings


@dataclass(frozen=True)
class ReadError:
    """A file (or a sheet of it) that could not be read, with the reason staff read."""

    file: str
    reason: str


@dataclass(frozen=True)
class Collection:
    """Everything read: records, unreadable files, and the sheets that carry a 納付日 column."""

    records: tuple[Record, ...]
    errors: tuple[ReadError, ...]
    files: tuple[str, ...]  # files read with at least one matching sheet
    sheets: tuple[tuple[str, str], ...]  # (file, sheet) read
    paid_sheets: frozenset[tuple[str, str]]  # (file, sheet) with a 納付日 column
    engine: str


# --- finding files ---------------------------------------------------------------------------


def find_files(paths: Iterable[Path]) -> tuple[list[Path], list[ReadError]]:
    """Files to read under ``paths`` (folders recursively, sorted), and paths that are missing."""
    found: list[Path] = []
    errors: list[ReadError] = []
    for path in paths:
        path = Path(path)
        if path.is_dir():
            inside = (p for p in path.rglob("*") if p.suffix.lower() in SUFFIXES and p.is_file())
            found += sorted(p for p in inside if not _is_lock(p))
        elif path.is_file():
            if _is_lock(path):
                continue
            if path.suffix.lower() in SUFFIXES:
                found.append(path)
            else:
                errors.append(ReadError(str(path), "対応していない形式です（.xlsx・.xlsm・.csv）"))
        else:
            errors.append(ReadError(str(path), "ファイルまたはフォルダが見つかりません"))
    return list(dict.fromkeys(found)), errors


def _shown(path: Path, roots: Sequence[Path]) -> str:
    """A file as the report names it: from the folder given (``送信記録/10月.xlsx``), else as given."""
    for root in roots:
        if path.is_relative_to(root):
            return str(path.relative_to(root.parent))
    return str(path)


def _is_lock(path: Path) -> bool:
    return path.name.startswith(("~$", ".~lock."))


# --- reading one file ------------------------------------------------------------------------


def _header(grid: Grid, sheet: str) -> schema.Header | None:
    try:
        return schema.find_header(grid[:HEADER_SCAN_ROWS], sheet=sheet)
    except HeaderError:
        return None


def _cells(data: Grid, index: int) -> list[object]:
    try:
        return list(map(itemgetter(index), data))  # calamine's rows are all as wide as the sheet
    except IndexError:
        return [row[index] if index < len(row) else None for row in data]


def _column(data: Grid, index: int | None, convert: Callable[[Any], Any]) -> list[Any]:
    """One column of ``data`` converted, each distinct value once (dates repeat a lot)."""
    if index is None:
        return [None] * len(data)
    values = _cells(data, index)
    converted = {v: convert(None if v == "" else v) for v in set(values)}
    return list(map(converted.__getitem__, values))


def _texts(data: Grid, index: int | None) -> list[str]:
    """One column of ``data`` as trimmed text ('' for empty cells)."""
    if index is None:
        return [""] * len(data)
    values = _cells(data, index)
    if None not in values:  # openpyxl's empty cells are None, calamine's ''
        try:
            return list(map(str.strip, cast("list[str]", values)))  # text only: no call per cell
        except TypeError:  # a number or a date among them
            pass
    return [v.strip() if v.__class__ is str else text(v) for v in values]


def _records(
    file: str,
    sheet: str,
    grid: Grid,
    header: schema.Header,
    purpose: str,
    unit_price: float,
) -> list[Record]:
    """A record per row holding a 結果コード or a 納期限, built column by column."""
    data = grid[header.row :]
    get = header.columns.get
    codes = _texts(data, get(schema.CODE))
    dues = _column(data, get(DUE), to_date)
    rows: Sequence[int] = range(len(data))
    if "" in codes:  # rows never processed count only with a 納期限
        rows = [i for i, (code, due) in enumerate(zip(codes, dues, strict=True)) if code or due]
        if not rows:
            return []
        data = [data[i] for i in rows]
        codes = [codes[i] for i in rows]
        dues = [dues[i] for i in rows]
    n = len(data)
    purposes = _texts(data, get(PURPOSE))
    columns = zip(
        [file] * n,
        [sheet] * n,
        map((header.row + 1).__add__, rows),
        _texts(data, get(schema.ID)),
        [p or purpose for p in purposes] if any(purposes) else [purpose] * n,
        _column(data, get(schema.SENT_AT), to_datetime),
        codes,
        _column(data, get(schema.SEGMENTS), integer)
        if get(schema.SEGMENTS) is not None
        else [0] * n,
        _texts(data, get(schema.DELIVERY)),
        dues,
        _column(data, get(PAID), to_date),
        _texts(data, get(schema.PHONE)),
        _texts(data, get(schema.BODY)),
        [unit_price] * n,
        strict=True,
    )
    with gc_paused():
        return list(map(partial(tuple.__new__, Record), columns))  # Record._make, no call per row


@dataclass(frozen=True)
class _FileResult:
    records: list[Record]
    sheets: list[tuple[str, str]]
    paid_sheets: list[tuple[str, str]]
    notes: list[str]


def read_file(
    path: Path,
    *,
    engine: str = "auto",
    config: dict[str, Any] | None = None,
    shown: str | None = None,
) -> _FileResult:
    """Records of every matching sheet of one file (``shown``: the file's name in the records).

    Raises:
        Unreadable: the file cannot be read, or no sheet matches; the message says why.
    """
    file = shown or str(path)
    try:
        grids = read_sheets(path, engine)
    except PermissionError as exc:
        if open_locks(path):
            raise Unreadable(
                "Excel で開かれているため読めません（ブックを閉じてください）"
            ) from exc
        raise Unreadable("読み取りの権限がありません") from exc
    except OSError as exc:
        raise Unreadable(f"ファイルを読めません（{exc.strerror or exc}）") from exc
    return _file_records(file, grids, config)


def _file_records(
    file: str, grids: list[tuple[str, Grid]], config: dict[str, Any] | None
) -> _FileResult:
    """The records of every matching sheet, with the workbook's 設定 (用途, 単価) applied."""
    found = {name: grid for name, grid in grids}
    settings_grid = found.get(schema.SETTINGS_SHEET)
    notes: list[str] = []
    try:
        settings = campaign_settings(
            settings_from_rows(settings_grid) if settings_grid is not None else None,
            config=config if config is not None else read_config_file(),
        )
        purpose, unit_price = settings.purpose or "", settings.unit_price
    except KudenError as exc:
        notes.append(f"設定シートの値を読めないため既定値で集計しました: {exc}")
        purpose, unit_price = "", campaign_settings(None, config=config or {}).unit_price
    result = _FileResult([], [], [], notes)
    for name, grid in grids:
        if name == schema.SETTINGS_SHEET:
            continue
        header = _header(grid, name)
        if header is None:
            continue
        result.sheets.append((file, name))
        if PAID in header.columns:
            result.paid_sheets.append((file, name))
        result.records.extend(_records(file, name, grid, header, purpose, unit_price))
    if not result.sheets:
        raise Unreadable(
            f"電話番号の列（{schema.accepted_phone_headers()}）がある見出し行のシートがありません"
        )
    return result


def collect(
    paths: Iterable[Path],
    *,
    engine: str = "auto",
    progress: Progress | None = None,
    exclude: Iterable[Path] = (),
) -> Collection:
    """Read every file under ``paths``; a file that cannot be read becomes a ``ReadError``.

    Args:
        paths: files and folders (folders are searched recursively).
        engine: ``auto`` (calamine, openpyxl where calamine fails), ``calamine`` or ``openpyxl``.
        progress: called after each file with (done, total, path).
        exclude: files to leave out (the report being written, when it lies in a folder read).
    """
    if engine not in ENGINES:
        raise ValueError(f"engine must be one of {ENGINES}")
    paths = [Path(p) for p in paths]
    skip = {Path(p).resolve() for p in exclude}
    files, errors = find_files(paths)
    files = [f for f in files if f.resolve() not in skip]
    config = read_config_file()
    records: list[Record] = []
    sheets: list[tuple[str, str]] = []
    paid: list[tuple[str, str]] = []
    read: list[str] = []
    roots = [p for p in paths if p.is_dir()]
    for done, path in enumerate(files, 1):
        shown = _shown(path, roots)
        try:
            got = read_file(path, engine=engine, config=config, shown=shown)
        except Unreadable as exc:
            errors.append(ReadError(shown, str(exc)))
        else:
            read.append(shown)
            records += got.records
            sheets += got.sheets
            paid += got.paid_sheets
            errors += [ReadError(shown, note) for note in got.notes]
        if progress:
            progress(done, len(files), path)
    return Collection(
        tuple(records), tuple(errors), tuple(read), tuple(sheets), frozenset(paid), engine
    )
