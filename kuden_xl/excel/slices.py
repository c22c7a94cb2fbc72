"""A long send in slices (DESIGN §7): no single call from VBA lasts more than a few seconds.

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
4. 送信を中止 marks the run cancelled: the next slice stops before sending anything.

Every slice is safe to interrupt: the ledger reserves each message before it leaves, so a slice
that never runs (Excel closed, Python restarted) only leaves rows unsent, and a new click plans
them afresh without sending anything twice. A slice sends only rows whose number and body are
still what the user confirmed (the sheet can be edited between slices); a change stops the run.

State lives in this module (the UDF server's process keeps it between ``RunPython`` calls),
keyed by workbook and sheet, with a queue of the slices Excel was asked to run.
"""

from __future__ import annotations

from collections import Counter, deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ..errors import WorkbookError

if TYPE_CHECKING:
    from ..plan import SendPlan

SLICE_SECONDS = 3.0
FIRST_SLICE_ROWS = 20  # without a rate limit, until the pace is measured
MAX_SLICE_ROWS = 1_000

Key = tuple[str, str]  # (workbook full name, sheet name)


@dataclass
class SliceRun:
    """One confirmed send of a selection, sent slice by slice."""

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

    def next_rows(self) -> list[int]:
        rows, self.remaining = self.remaining[: self.slice_rows], self.remaining[self.slice_rows :]
        return rows

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

    def pace(self, rows: int, seconds: float) -> None:
        """Size the next slice from the measured pace of the last one."""
        if not self.adaptive or rows <= 0:
            return
        per_row = max(seconds / rows, 1e-3)
        self.slice_rows = max(1, min(MAX_SLICE_ROWS, int(SLICE_SECONDS / per_row)))


_RUNS: dict[Key, SliceRun] = {}
# Slices Excel was asked to run (one OnTime each), oldest first: OnTime cannot say which send
# it continues, and the active workbook may be another one by then.
_PENDING: deque[Key] = deque()


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


def current(key: Key) -> SliceRun | None:
    return _RUNS.get(key)


def finish(key: Key) -> None:
    _RUNS.pop(key, None)


def cancel(keys: Sequence[Key]) -> list[SliceRun]:
    """Mark the runs of ``keys`` cancelled; the runs found."""
    found = [run for key in keys if (run := _RUNS.get(key)) is not None]
    for run in found:
        run.cancelled = True
    return found


def running() -> list[SliceRun]:
    return list(_RUNS.values())


def pending(key: Key) -> None:
    """Excel was asked to run one more slice of ``key``'s send."""
    _PENDING.append(key)


def take_pending() -> Key | None:
    """The send the slice Excel now runs belongs to (None: nothing was asked for)."""
    return _PENDING.popleft() if _PENDING else None
