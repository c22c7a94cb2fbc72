"""Saving the workbook during a send: progressive saves paced by their cost, and what to tell
staff when a save fails midway."""

from __future__ import annotations

import time

from ..books.base import Table
from ..errors import WorkbookSaveError


class SavePacer:
    """Progressive saves that cost at most ``budget`` of the run's time (DESIGN §6).

    The budget is below the design's tenth because the final save comes on top. A crash loses
    at most one interval of results in the workbook; the ledger restores them on the next run.
    """

    BUDGET = 0.06  # share of the run's time
    MIN_INTERVAL_S = 2.0

    def __init__(
        self,
        table: Table,
        *,
        budget: float | None = None,
        min_interval_s: float | None = None,
        expected_cost_s: float = 0.0,
    ):
        self.table = table
        self.budget = self.BUDGET if budget is None else budget
        self.min_interval_s = self.MIN_INTERVAL_S if min_interval_s is None else min_interval_s
        self._last = time.monotonic()
        self._cost = expected_cost_s  # until the first save is measured
        self.failed: WorkbookSaveError | None = None  # a save failed: no more saves, no sends

    def maybe_flush(self) -> None:
        if time.monotonic() - self._last >= max(self.min_interval_s, self._cost / self.budget):
            self.flush()

    def flush(self) -> None:
        if self.failed is not None:
            return
        started = time.monotonic()
        try:
            self.table.flush()
        except WorkbookSaveError as exc:
            self.failed = exc
            raise
        self._last = time.monotonic()
        self._cost = self._last - started


def save_stopped(exc: WorkbookSaveError, sent: int) -> WorkbookSaveError:
    """The message for a save that failed during a run: what happened to the messages sent."""
    reason = str(exc).split(" / ")[0].rstrip("。")
    return WorkbookSaveError(
        f"{reason}。結果を保存できないため、送信を中止しました。ここまでに {sent} 件を送信しました。"
        "送信した記録は送信台帳に残っており、保存できる状態にしてもう一度実行すると、"
        "その結果がブックに書き戻されます（同じ相手に再送はされません）。"
        f" / Saving failed; sending stopped after {sent} messages. The ledger holds them and the"
        " next run writes them back."
    )
