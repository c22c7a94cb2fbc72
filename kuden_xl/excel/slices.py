"""A long send or status refresh in slices (DESIGN §7): no single call from VBA lasts more
than a few seconds.

With ``Use UDF Server``, ``RunPython`` runs synchronously inside Excel's COM call: a send of
2,000 rows to a rate-limited provider would freeze Excel for minutes and end in "waiting for
another application to complete an OLE action" (xlwings #1757). So 選択行を送信 plans and confirms
the whole selection once, then sends it in slices:

1. the first call plans every selected row, asks once, writes the rows that will not be sent,
   and sends the first slice;
2. each slice is one ``jobs.send`` over the next rows the user confirmed, sized to take about
   ``SLICE_SECONDS`` (from the gateway's rate limit, then from the measured pace), and returns;
3. while rows remain, Python asks Excel to run ``RibbonKuden.SendNextSlice`` when it is idle
   (``Application.OnTime``), which runs the next slice; the status bar shows the progress;
4. 中止 marks the run cancelled: the next slice stops before sending anything.

配信結果を更新 runs the same way (``refreshing.py``, ``RefreshRun``): the first click lists the
message ids without a final result, each slice asks the gateway about the next ids and writes
their rows, and ``RibbonKuden.RefreshNextSlice`` continues. An id is asked once per run, so rows
that stay 確認中 end the run instead of looping.

Every slice is safe to interrupt: the ledger reserves each message before it leaves, so a slice
that never runs (Excel closed, Python restarted) only leaves rows unsent, and a new click plans
them afresh without sending anything twice. A slice sends only rows whose number and body are
still what the user confirmed (the sheet can be edited between slices); a change stops the run.

State lives in this module (the UDF server's process keeps it between ``RunPython`` calls),
keyed by workbook and sheet, with a queue per kind of the slices Excel was asked to run. One run
per workbook at a time: a send and a refresh of the same workbook would write the same rows and
hold the same workbook lock in turns, so the second click is refused (``busy``). ``Driver`` is
what both share: the loop of slices until one has to wait for Excel, then the summary, and the
entry point Excel's OnTime runs.
"""

from __future__ import annotations

from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Generic, Literal, TypeVar

from ..errors import WorkbookError
from .common import (
    Progress,
    Schedule,
    StatusBar,
    alert,
    entry_point,
    open_book,
    workbook_path,
)

if TYPE_CHECKING:
    from ..books.excel import ExcelTable
    from ..plan import SendPlan

SLICE_SECONDS = 3.0
FIRST_SLICE_ROWS = 20  # without a rate limit, until the pace is measured
MAX_SLICE_ROWS = 1_000

Key = tuple[str, str]  # (workbook full name, sheet name)
Kind = Literal["send", "refresh"]
KINDS: tuple[Kind, ...] = ("send", "refresh")
WHAT: dict[Kind, str] = {"send": "送信", "refresh": "配信結果の更新"}  # for staff

T = TypeVar("T")


class Sliced(Generic[T]):
    """What every sliced run does: hand out the next slice, size it from the measured pace."""

    remaining: list[T]  # items not yet handed to a slice, in sheet order
    slice_rows: int
    adaptive: bool

    def take(self) -> list[T]:
        items, self.remaining = self.remaining[: self.slice_rows], self.remaining[self.slice_rows :]
        return items

    def pace(self, rows: int, seconds: float) -> None:
        """Size the next slice from the measured pace of the last one."""
        if not self.adaptive or rows <= 0:
            return
        per_row = max(seconds / rows, 1e-3)
        self.slice_rows = max(1, min(MAX_SLICE_ROWS, int(SLICE_SECONDS / per_row)))


@dataclass
class SliceRun(Sliced[int]):
    """One confirmed send of a selection, sent slice by slice."""

    kind: ClassVar[Kind] = "send"
    key: Key
    confirmed: dict[int, tuple[str, str]]  # row -> (number, body) the user said OK to
    remaining: list[int]  # confirmed rows not yet handed to a slice, in sheet order
    slice_rows: int
    adaptive: bool = True
    sent: int = 0  # rows handed to slices so far
    slices: int = 0
    counts: Counter[str] = field(default_factory=Counter)
    deferred: Counter[tuple[str, str]] = field(default_factory=Counter)  # window closed / cap
    reconciled: int = 0
    incomplete: bool = False
    cancelled: bool = False

    @property
    def total(self) -> int:
        return len(self.confirmed)

    @property
    def done(self) -> int:
        return self.sent

    def check(self, plan: SendPlan) -> bool:
        """The confirmation of a later slice: every row it would send is unchanged.

        Raises:
            WorkbookError: a row's number or body changed since the user said OK.
        """
        changed = [r.row for r in plan.outgoing if self.confirmed.get(r.row) != (r.number, r.body)]
        if changed:
            rows = "、".join(str(r) for r in changed[:10]) + ("…" if len(changed) > 10 else "")
            raise WorkbookError(
                f"確認したあとで {rows} 行目の番号または本文が変わったため、送信を止めました。"
                f"ここまでに {self.sent} 件を送りました（結果は各行に記録済み）。"
                "内容を確かめてから、もう一度「選択行を送信」を押してください。"
                " / Rows changed after confirmation; stopped."
            )
        return True


@dataclass
class RefreshRun(Sliced[str]):
    """One 配信結果を更新: the message ids without a final result when it was clicked."""

    kind: ClassVar[Kind] = "refresh"
    key: Key
    remaining: list[str]  # message ids not yet asked about in this run, in sheet order
    slice_rows: int
    adaptive: bool = True
    total: int = 0
    asked: int = 0  # ids handed to slices so far
    checked: int = 0  # rows written (an id whose row went away meanwhile is not)
    slices: int = 0
    counts: Counter[str] = field(default_factory=Counter)
    cancelled: bool = False

    def __post_init__(self) -> None:
        self.total = self.total or len(self.remaining)

    @property
    def done(self) -> int:
        return self.asked


Run = SliceRun | RefreshRun

_RUNS: dict[Key, Run] = {}
# Slices Excel was asked to run (one OnTime each), oldest first, per kind: OnTime cannot say
# which run it continues, and the active workbook may be another one by then. The run itself is
# queued, so a slice asked for by a run that was stopped (and maybe replaced) does nothing.
_PENDING: dict[Kind, deque[Run]] = {kind: deque() for kind in KINDS}


def first_slice_rows(rate_per_second: float | None) -> int:
    """Rows of the first slice: what the rate limit lets through in SLICE_SECONDS."""
    if rate_per_second:
        return max(1, min(MAX_SLICE_ROWS, int(rate_per_second * SLICE_SECONDS)))
    return FIRST_SLICE_ROWS


def start(key: Key, plan: SendPlan, slice_rows: int, *, adaptive: bool) -> SliceRun:
    """Record a confirmed plan (replacing an earlier run of the same sheet)."""
    confirmed = {r.row: (r.number or "", r.body or "") for r in plan.outgoing}
    run = SliceRun(key, confirmed, sorted(confirmed), slice_rows, adaptive)
    _RUNS[key] = run
    return run


def start_refresh(
    key: Key, message_ids: list[str], slice_rows: int, *, adaptive: bool
) -> RefreshRun:
    """Record a refresh of ``message_ids`` (replacing an earlier run of the same sheet)."""
    run = RefreshRun(key, list(message_ids), slice_rows, adaptive)
    _RUNS[key] = run
    return run


def current(key: Key) -> Run | None:
    return _RUNS.get(key)


def finish(key: Key) -> None:
    _RUNS.pop(key, None)


def running() -> list[Run]:
    return list(_RUNS.values())


def busy(workbook: str, what: str) -> None:
    """Refuse to start ``what`` while a send or refresh of ``workbook`` is still running.

    Raises:
        WorkbookError: one is (it names which, and how far it got).
    """
    for run in running():
        if run.key[0] == workbook:
            raise WorkbookError(
                f"このブックの{WHAT[run.kind]}がまだ続いています（{run.done}/{run.total} 件）。"
                f"終わるまで待つか、「中止」を押してから、もう一度「{what}」を押してください。"
                f" / A {run.kind} of this workbook is still running."
            )


def pending(run: Run) -> None:
    """Excel was asked to run one more slice of ``run``."""
    _PENDING[run.kind].append(run)


def take_pending(kind: Kind) -> Run | None:
    """The run the slice Excel now runs belongs to (None: nothing was asked for)."""
    queue = _PENDING[kind]
    return queue.popleft() if queue else None


def clear() -> None:
    """Forget every run and every slice asked for (tests; a fresh UDF server starts so)."""
    _RUNS.clear()
    for queue in _PENDING.values():
        queue.clear()


def key_of(book: Any, table: ExcelTable) -> Key:
    return (str(workbook_path(book)), table.sheet_name)


R = TypeVar("R", bound=Run)


@dataclass(frozen=True)
class Driver(Generic[R]):
    """How the runs of one kind go slice by slice: ``sending.py`` and ``refreshing.py`` each
    define one with their slice, summary and texts; the loop and the hand-over to Excel are
    here."""

    run_type: type[R]
    label: str  # on the status bar while slices run
    macro: str  # the add-in's Sub that Excel's OnTime runs for the next slice
    one_slice: Callable[[ExcelTable, R, Progress], None]
    summary: Callable[[R], str]  # the alert when the run is over
    lost: str  # the alert when Excel runs a slice Python knows nothing of (Python restarted)
    gone: Callable[[R], str]  # the alert when the run's workbook or sheet is gone

    def excel_schedule(self, book: Any) -> None:
        """Ask Excel to run the next slice as soon as it is idle (``Application.OnTime``)."""
        from datetime import datetime

        book.app.api.OnTime(datetime.now(), self.macro)

    def drive(
        self,
        book: Any,
        table: ExcelTable,
        run: R,
        progress: Progress | None,
        schedule: Schedule | None,
    ) -> None:
        """Run slices until one has to wait for Excel (scheduled) or the run is over (summary).

        Each slice gets ``progress`` (default: Excel's status bar, showing ``label``).
        ``schedule`` asks Excel for the next slice; in Excel it defaults to ``excel_schedule``
        (``Application.OnTime``), elsewhere without one every slice runs in this call. A
        failing slice ends the run.
        """
        from ..books.excel import is_com

        bar = StatusBar(book, self.label)
        shown = progress or bar
        if schedule is None and is_com(book):
            schedule = self.excel_schedule
        while run.remaining and not run.cancelled:
            try:
                self.one_slice(table, run, shown)
            except BaseException:
                finish(run.key)
                bar.clear(force=True)
                raise
            if run.remaining and schedule is not None:
                pending(run)
                schedule(book)  # Excel runs the next slice when idle: the status bar stays
                return
        finish(run.key)
        bar.clear(force=True)
        alert(book, self.summary(run))

    def next_slice(self, progress: Progress | None, schedule: Schedule | None) -> None:
        """The entry point Excel's OnTime runs: the next slice of the oldest run of this kind
        Excel was asked to continue, in its own workbook (the active one may be another).

        Nothing happens when that run was stopped by 中止 (already reported) or replaced. An
        alert says ``lost`` when there is nothing to continue, ``gone(run)`` when the run's
        workbook or sheet is gone (the run ends).
        """
        from ..books.excel import ExcelTable

        def run_next(caller: Any) -> None:
            run = take_pending(self.run_type.kind)
            if run is None:
                raise WorkbookError(self.lost)
            assert isinstance(run, self.run_type)  # the queue of this kind holds only these
            if current(run.key) is not run:
                return
            try:
                book = open_book(caller, run.key[0])
                table = ExcelTable(book, book.sheets[run.key[1]])
            except Exception as exc:
                finish(run.key)
                raise WorkbookError(self.gone(run)) from exc
            self.drive(book, table, run, progress, schedule)

        entry_point(run_next)
