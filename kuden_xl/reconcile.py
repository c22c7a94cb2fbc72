"""Crash recovery: settle ledger entries left reserved or unknown by asking the provider.

Run before anything is sent (DESIGN §6). By our send id, where the provider can look it up
(``capabilities.lookup_by_send_id``): found → accepted / scheduled with its message id; provably
not there → failed (safe to send again); cannot tell → unknown, never resent blindly.
``dispatch`` re-exports ``reconcile`` and ``ReconcileReport``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from .clock import now as japan_now
from .errors import GatewayAuthError
from .gateways.base import Attempt, Gateway, Receipt
from .ledger import STATE_CODES, Entry, Ledger, State
from .schema import ResultCode

log = logging.getLogger("kuden_xl.dispatch")


@dataclass(frozen=True)
class ReconcileReport:
    """What ``reconcile`` did with the entries left reserved or unknown (entries as settled)."""

    found: tuple[Entry, ...]  # the provider has it: now accepted / scheduled / rejected
    not_sent: tuple[Entry, ...]  # provably never arrived: now failed (safe to send again)
    unknown: tuple[Entry, ...]  # cannot tell (no lookup, or the lookup failed): unknown
    left: tuple[Entry, ...]  # another provider's, or in flight in a run still going

    @property
    def settled(self) -> int:
        """Entries this reconciliation settled for good (found or provably not sent)."""
        return len(self.found) + len(self.not_sent)

    @property
    def checked(self) -> int:
        return len(self.found) + len(self.not_sent) + len(self.unknown) + len(self.left)


def reconcile(
    ledger: Ledger,
    gateway: Gateway,
    *,
    clock: Callable[[], datetime] | None = None,
) -> ReconcileReport:
    """Settle entries left reserved or unknown by asking the provider for our send id.

    Run it before anything is sent. A ``reserved`` entry whose Ledger is still open elsewhere
    (``Ledger.in_flight_elsewhere``: another run is sending it now) is left alone, as are other
    providers' entries; the recently-sent guard keeps such rows from being sent meanwhile.

    Raises:
        GatewayAuthError: credentials refused (nothing was changed for the remaining entries).
    """
    at = (clock or japan_now)()
    found: list[Entry] = []
    not_sent: list[Entry] = []
    unknown: list[Entry] = []
    left: list[Entry] = []
    can_lookup = gateway.capabilities.lookup_by_send_id
    for entry in ledger.unsettled():
        if entry.provider != gateway.name or ledger.in_flight_elsewhere(entry):
            left.append(entry)
            continue
        if not can_lookup:
            if entry.state is State.RESERVED:
                ledger.settle(
                    entry.send_id,
                    state=State.UNKNOWN,
                    code=ResultCode.UNKNOWN,
                    reason="中断された送信です。事業者に照会できないため結果不明です",
                    at=at,
                )
            unknown.append(ledger.get(entry.send_id) or entry)
            continue
        try:
            receipt = gateway.lookup(entry.send_id)
        except GatewayAuthError:
            raise
        except Exception as exc:  # unreachable now: try again next run
            log.warning("lookup of send %s failed: %s", entry.send_id, exc)
            unknown.append(entry)
            continue
        settled = _settle_looked_up(ledger, entry, receipt, at)
        if settled is None:
            unknown.append(entry)
        elif settled.state is State.FAILED:
            not_sent.append(settled)
        else:
            found.append(settled)
    log.info(
        "reconcile: %d found, %d not sent, %d unknown, %d left",
        len(found),
        len(not_sent),
        len(unknown),
        len(left),
    )
    return ReconcileReport(tuple(found), tuple(not_sent), tuple(unknown), tuple(left))


def _settle_looked_up(
    ledger: Ledger, entry: Entry, receipt: Receipt | None, at: datetime
) -> Entry | None:
    """Settle from a lookup's answer; None when the answer settles nothing."""
    if receipt is None:
        ledger.settle(
            entry.send_id,
            state=State.FAILED,
            code=ResultCode.GATEWAY_ERROR,
            reason="事業者に届いていないことを確認しました。もう一度送信できます",
            at=at,
        )
        return ledger.get(entry.send_id)
    states = {
        Attempt.ACCEPTED: State.ACCEPTED,
        Attempt.SCHEDULED: State.SCHEDULED,
        Attempt.REJECTED: State.REJECTED,
    }
    state = states.get(receipt.attempt)
    if state is None:
        return None
    ledger.settle(
        entry.send_id,
        state=state,
        code=STATE_CODES[state],
        message_id=receipt.message_id,
        reason=receipt.reason or "照会により確認しました",
        at=at,
    )
    return ledger.get(entry.send_id)
