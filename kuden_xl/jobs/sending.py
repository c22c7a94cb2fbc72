"""The send job: plan the rows, confirm, send through the gateway, write every row's result.

The ledger, dispatcher and gateways are imported lazily: ``check`` and the UDFs must stay cheap
to import.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from ..books.base import Table
from ..clock import now
from ..errors import ConfirmationDeclined, WorkbookSaveError
from ..outputs import plan_outputs, result_output
from ..plan import SendPlan
from ..schema import DEFAULT_GUARD, ResultCode
from .locking import holding
from .planning import prepare_send
from .saving import SavePacer, save_stopped

if TYPE_CHECKING:
    from ..dispatch import DispatchSettings, RowResult
    from ..gateways.base import Gateway
    from ..ledger import Ledger

Confirm = Callable[["SendPlan"], bool]
Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class RowOutcome:
    """Where one selected row ended: its code ('OK' only if the run stopped before sending it)."""

    row: int
    code: str
    message_id: str | None
    segments: int


# Rows in these states are not final: exit status 3, and never counted or labelled as sent.
_NOT_FINAL = frozenset({ResultCode.UNKNOWN.value, ResultCode.GATEWAY_ERROR.value})


@dataclass(frozen=True)
class SendOutcome:
    """A finished send: the plan, what each sent row got, and the counts per code."""

    plan: SendPlan
    results: tuple[RowResult, ...]
    reconciled: int = 0  # ledger entries from an earlier interrupted run settled first

    def rows(self) -> list[RowOutcome]:
        """Every selected row's state after the run, including rows settled by reconciliation;
        a record still UNKNOWN is reported as UNKNOWN, not as already sent."""
        sent = {r.row: r for r in self.results}
        out = []
        for r in self.plan.rows:
            got = sent.get(r.row)
            if got is not None:
                out.append(RowOutcome(r.row, got.code.value, got.message_id, got.segments))
                continue
            message_id = r.restored.message_id if r.restored else None
            out.append(RowOutcome(r.row, r.standing, message_id, r.segments))
        return out

    def counts(self) -> dict[str, int]:
        return dict(sorted(Counter(r.code for r in self.rows()).items()))

    def deferred(self) -> dict[tuple[str, str], int]:
        """Rows planned for now that left later or were held because the send window closed
        ("window") or the hour's cap filled ("cap") during the run: (why, code) -> count."""
        return dict(Counter((r.deferred, r.code.value) for r in self.results if r.deferred))

    @property
    def incomplete(self) -> bool:
        """Some selected row is UNKNOWN or GATEWAY_ERROR (this run's or reconciliation's):
        exit status 3, staff should look."""
        return any(r.code in _NOT_FINAL for r in self.rows())


def send(
    table: Table,
    gateway: Gateway,
    ledger: Ledger,
    *,
    rows: str | None,
    row_numbers: Sequence[int] | None = None,
    confirm: Confirm,
    progress: Progress | None = None,
    cli: Mapping[str, object] | None = None,
    allow_resend: bool = False,
    settings: DispatchSettings | None = None,
    clock: Callable[[], datetime] = now,
    observe: Callable[[RowResult], None] | None = None,
) -> SendOutcome:
    """Plan the rows, ask ``confirm``, send through ``gateway``, write every row's result.

    The send window and hourly cap are applied again to each message as it leaves (``clock``
    is the time). ``observe`` sees each result as it comes, before it is written, e.g. to
    count what was sent when the run is interrupted. The workbook's lock is held throughout
    (taken here unless ``connect`` holds it already).

    Raises:
        WorkbookLockedError: another run holds the workbook.
        ConfirmationDeclined: ``confirm`` said no; nothing was sent or written.
    """
    from ..dispatch import DispatchSettings

    with holding(table.workbook):
        table.check_writable()
        started = time.monotonic()
        send_plan, reconciled = prepare_send(
            table,
            gateway,
            ledger,
            rows=rows,
            row_numbers=row_numbers,
            cli=cli,
            allow_resend=allow_resend,
            clock=clock,
        )
        # The first save paced on the read and plan time (≥ 0.1 ms a row), later ones on their cost.
        expected_save_s = max(time.monotonic() - started, len(send_plan.rows) * 1e-4)
        if not confirm(send_plan):
            raise ConfirmationDeclined(
                "送信を取り消しました。何も送信していません。 / Cancelled; nothing sent."
            )
        table.write(plan_outputs(send_plan))  # saved with the first results; the ledger holds them
        results = _dispatch_and_write(
            table,
            gateway,
            ledger,
            send_plan,
            SavePacer(table, expected_cost_s=expected_save_s),
            settings=settings or DispatchSettings(guard=None if allow_resend else DEFAULT_GUARD),
            clock=clock,
            progress=progress,
            observe=observe,
        )
    return SendOutcome(send_plan, tuple(results), reconciled)


def _dispatch_and_write(
    table: Table,
    gateway: Gateway,
    ledger: Ledger,
    send_plan: SendPlan,
    pacer: SavePacer,
    *,
    settings: DispatchSettings,
    clock: Callable[[], datetime],
    progress: Progress | None,
    observe: Callable[[RowResult], None] | None,
) -> list[RowResult]:
    """Send the plan's outgoing rows, writing each result as it comes and saving on ``pacer``'s
    pace; a failed save stops the run with a message counting what it sent."""
    from ..dispatch import Outgoing, dispatch

    outgoing = [
        Outgoing(r.row, r.number or "", r.body or "", r.segments, r.scheduled_at)
        for r in send_plan.outgoing
    ]
    done = 0
    # What the ledger held before: a failed save reports the messages this run sent, those in
    # flight when it stopped included (their callbacks no longer run).
    identities = [ledger.identity(o.number, o.body) for o in outgoing]
    known = {i: e.send_id for i, e in ledger.find_sent_many(identities).items()}

    def on_result(result: RowResult) -> None:
        nonlocal done
        done += 1
        if observe:  # first: a result is counted even when writing it fails
            observe(result)
        table.write([result_output(result)])
        if progress:
            progress(done, len(outgoing))
        pacer.maybe_flush()

    try:
        try:
            return dispatch(
                outgoing,
                gateway,
                ledger,
                settings=settings,
                workbook=table.book_name,
                sheet=table.sheet_name,
                on_result=on_result,
                clock=clock,
                scheduling=send_plan.scheduling,
            )
        finally:
            pacer.flush()  # whatever finished is saved, even when the run stops early
    except WorkbookSaveError as exc:
        sent = sum(known.get(i) != e.send_id for i, e in ledger.find_sent_many(identities).items())
        raise save_stopped(pacer.failed or exc, sent) from exc
