"""The delivery-result jobs: which rows still wait for a result, and the refresh that fills
配信結果 / 配信確認日時 in."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .. import schema
from ..books.base import OutputRow, Table
from ..clock import now
from ..outputs import excel_time
from ..schema import Delivery
from .locking import holding
from .sending import Progress

if TYPE_CHECKING:
    from ..gateways.base import Gateway
    from ..ledger import Ledger


@dataclass(frozen=True)
class StatusOutcome:
    checked: int
    counts: dict[str, int]


# Ids per ``gateway.status`` call, and so per write and progress step of a refresh (and the
# ribbon's slice size, ``excel/refreshing.py``). A gateway whose provider takes fewer ids a
# request splits the call itself (``Capabilities.max_status_ids``; the sandbox takes 1000).
STATUS_BATCH = 500


def pending_status(table: Table) -> dict[str, int]:
    """Rows whose delivery result is still open: メッセージID → sheet row, in sheet order, for
    the rows with a メッセージID and no final 配信結果 (配信済 / 不達)."""
    data = table.read()
    finals = {d.value for d in Delivery if d.is_final}
    pending: dict[str, int] = {}
    for r in sorted(data.rows):
        message_id = data.value(r, schema.MESSAGE_ID)
        delivery = str(data.value(r, schema.DELIVERY) or "")
        if message_id and not any(delivery.startswith(f) for f in finals):
            pending[str(message_id)] = r
    return pending


def refresh_status(
    table: Table,
    gateway: Gateway,
    ledger: Ledger | None = None,
    *,
    progress: Progress | None = None,
    only: Collection[str] | None = None,
) -> StatusOutcome:
    """Fill 配信結果 / 配信確認日時 for rows with a メッセージID and no final delivery result.

    ``only``: ask about these message ids only (a slice of a longer refresh); an id whose row is
    gone or has a final result by now is left alone. Default: every such row. The workbook's
    lock is held throughout (taken here unless ``connect`` holds it already).

    Raises:
        WorkbookLockedError: another run holds the workbook.
    """
    with holding(table.workbook):
        table.check_writable()
        pending = pending_status(table)
        if only is not None:
            wanted = set(only)
            pending = {m: r for m, r in pending.items() if m in wanted}
        ids = list(pending)
        counts: dict[str, int] = {}
        checked_at = now()
        for start in range(0, len(ids), STATUS_BATCH):
            batch = ids[start : start + STATUS_BATCH]
            outputs = []
            for status in gateway.status(batch):
                label = status.delivery.value + (f"（{status.reason}）" if status.reason else "")
                counts[status.delivery.value] = counts.get(status.delivery.value, 0) + 1
                values: dict[str, object] = {
                    schema.DELIVERY: label,
                    schema.DELIVERY_CHECKED_AT: excel_time(checked_at),
                }
                if status.segments is not None:
                    values[schema.SEGMENTS] = status.segments  # the provider's billed count
                outputs.append(OutputRow(pending[status.message_id], values))
                if ledger is not None:
                    ledger.set_delivery(
                        status.message_id, status.delivery, status.reason, checked_at
                    )
            table.write(outputs)
            if progress:
                progress(min(start + STATUS_BATCH, len(ids)), len(ids))
        table.flush()
    return StatusOutcome(len(ids), dict(sorted(counts.items())))
