"""Crash recovery: settle ledger entries left reserved or unknown by asking the provider.

Run before anything is sent (DESIGN §6). By our send id, where the provider can look it up
(``capabilities.lookup_by_send_id``): found → accepted / scheduled with its message id; provably
not there → failed (safe to send again); cannot tell → unknown, never resent blindly.

Only the gateway an entry went through may settle it (``GatewayIdentity``): another endpoint or
account does not know our send id, and its "not found" would wrongly read as "never sent".
Entries of another gateway are left alone and reported (``ReconcileReport.elsewhere``); the
planner does not send their rows. Entries from before ledgers recorded the gateway (schema v1)
are settled only by a gateway of the same provider that *finds* them — a send id is random, so
only the gateway that took it can find it — and never declared "not sent" on a miss.

Lookups run concurrently (a bounded pool): one by one, 80 of them took 49 s. A refused
credential still stops everything; a lookup that fails leaves its entry unknown for next time.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum

from .clock import now as japan_now
from .errors import GatewayAuthError
from .gateways.base import Attempt, Gateway, GatewayIdentity, Receipt, SentQuery
from .ledger import STATE_CODES, Entry, Ledger, State
from .schema import ResultCode

log = logging.getLogger("kuden_xl.reconcile")

LOOKUP_CONCURRENCY = 16  # lookups in flight at once: well within every provider's rate limit


@dataclass(frozen=True)
class ReconcileReport:
    """What ``reconcile`` did with the entries left reserved or unknown (entries as settled)."""

    found: tuple[Entry, ...]  # the provider has it: now accepted / scheduled / rejected
    not_sent: tuple[Entry, ...]  # provably never arrived: now failed (safe to send again)
    unknown: tuple[Entry, ...]  # cannot tell (no lookup, or the lookup failed): unknown
    left: tuple[Entry, ...]  # another gateway's, or in flight in a run still going
    elsewhere: tuple[Entry, ...] = ()  # of ``left``: another gateway's (or unidentified)

    @property
    def settled(self) -> int:
        """Entries this reconciliation settled for good (found or provably not sent)."""
        return len(self.found) + len(self.not_sent)

    @property
    def checked(self) -> int:
        return len(self.found) + len(self.not_sent) + len(self.unknown) + len(self.left)

    def elsewhere_warnings(self) -> tuple[str, ...]:
        """One line per other gateway, for the plan's 注意 (staff read it before confirming)."""
        counts: dict[str, int] = {}
        for entry in self.elsewhere:
            label = gateway_label(entry)
            counts[label] = counts.get(label, 0) + 1
        return tuple(
            f"前回 {n} 件は別の送信先（{label}）で結果不明です。その送信先で実行して照会するまで、"
            f"同じ番号・同じ本文の行は送信しません。 / {n} earlier sends through another gateway"
            " are unresolved; their rows are not sent."
            for label, n in counts.items()
        )


def gateway_label(entry: Entry) -> str:
    """Which gateway an entry went through, for staff (never a secret)."""
    if entry.gateway is None:
        return f"{entry.provider}（接続先の記録なし: 旧版の台帳）"
    return entry.gateway.label


class _Match(Enum):
    SAME = "same"  # this gateway's own entry
    LEGACY = "legacy"  # no identity recorded, same provider: settle only what it finds
    OTHER = "other"


def _match(entry: Entry, identity: GatewayIdentity) -> _Match:
    if entry.gateway is None:
        return _Match.LEGACY if entry.provider == identity.provider else _Match.OTHER
    return _Match.SAME if entry.gateway == identity else _Match.OTHER


def reconcile(
    ledger: Ledger,
    gateway: Gateway,
    *,
    clock: Callable[[], datetime] | None = None,
    concurrency: int = LOOKUP_CONCURRENCY,
) -> ReconcileReport:
    """Settle entries left reserved or unknown by asking their own gateway for our send id.

    Run it before anything is sent. A ``reserved`` entry whose Ledger is still open elsewhere
    (``Ledger.in_flight_elsewhere``: another run is sending it now) is left alone, as are other
    gateways' entries; the recently-sent guard and the planner keep such rows from being sent.

    Raises:
        GatewayAuthError: credentials refused (lookups not yet started are not made).
    """
    at = (clock or japan_now)()
    sorted_out = _Sorted()
    to_look_up = sorted_out.triage(ledger, gateway, at)
    for entry, match, receipt, error in _look_up(gateway, ledger, to_look_up, concurrency):
        sorted_out.looked_up(ledger, gateway, at, entry, match, receipt, error)
    report = sorted_out.report()
    log.info(
        "reconcile: %d found, %d not sent, %d unknown, %d left (%d of another gateway)",
        len(report.found),
        len(report.not_sent),
        len(report.unknown),
        len(report.left),
        len(report.elsewhere),
    )
    return report


@dataclass
class _Sorted:
    """Where each unsettled entry ended up, as ``reconcile`` goes (see ``ReconcileReport``)."""

    found: list[Entry] = field(default_factory=list)
    not_sent: list[Entry] = field(default_factory=list)
    unknown: list[Entry] = field(default_factory=list)
    left: list[Entry] = field(default_factory=list)
    elsewhere: list[Entry] = field(default_factory=list)

    def triage(self, ledger: Ledger, gateway: Gateway, at: datetime) -> list[tuple[Entry, _Match]]:
        """Sort out what needs no lookup; the entries still to look up."""
        to_look_up: list[tuple[Entry, _Match]] = []
        for entry in ledger.unsettled():
            match = _match(entry, gateway.identity)
            if match is _Match.OTHER:
                self.left.append(entry)
                self.elsewhere.append(entry)
            elif ledger.in_flight_elsewhere(entry):
                self.left.append(entry)
            elif not gateway.capabilities.lookup_by_send_id and _finder(gateway) is None:
                if match is _Match.LEGACY:
                    self.left.append(entry)
                    self.elsewhere.append(entry)
                    continue
                why = "事業者に照会できないため結果不明です"
                self.unknown.append(_mark_unknown(ledger, entry, at, why))
            else:
                to_look_up.append((entry, match))
        return to_look_up

    def looked_up(
        self,
        ledger: Ledger,
        gateway: Gateway,
        at: datetime,
        entry: Entry,
        match: _Match,
        receipt: Receipt | None,
        error: Exception | None,
    ) -> None:
        """Settle (or leave) one entry by its lookup's answer."""
        if error is not None:
            log.warning("lookup of send %s failed: %s", entry.send_id, error)
            self.unknown.append(_mark_unknown(ledger, entry, at, "照会に失敗したため結果不明です"))
            return
        if match is _Match.LEGACY and (receipt is None or receipt.attempt not in _SETTLING):
            self.left.append(entry)  # not found here proves nothing: it may be another endpoint's
            self.elsewhere.append(entry)
            return
        if receipt is None and not gateway.capabilities.lookup_by_send_id:
            # Found by content only: a miss proves nothing (the listing may lag, or miss it).
            why = "事業者の記録に見つからないため結果不明です"
            self.unknown.append(_mark_unknown(ledger, entry, at, why))
            return
        settled = _settle_looked_up(ledger, entry, receipt, at)
        if settled is None:
            self.unknown.append(entry)
        elif settled.state is State.FAILED:
            self.not_sent.append(settled)
        else:
            self.found.append(settled)

    def report(self) -> ReconcileReport:
        return ReconcileReport(
            tuple(self.found),
            tuple(self.not_sent),
            tuple(self.unknown),
            tuple(self.left),
            tuple(self.elsewhere),
        )


_Looked = tuple[Entry, _Match, Receipt | None, Exception | None]


def _look_up(
    gateway: Gateway, ledger: Ledger, entries: list[tuple[Entry, _Match]], concurrency: int
) -> list[_Looked]:
    """Every lookup's answer or error, in the entries' order; an auth error stops them all.

    By our send id where the provider keeps it, else (``FindsSent``) by what was sent: the
    ledger's keyed identity of (number, body) and the reservation time.
    """
    if not entries:
        return []

    finder = None if gateway.capabilities.lookup_by_send_id else _finder(gateway)

    def one(entry: Entry) -> Receipt | None:
        if finder is None:
            return gateway.lookup(entry.send_id)
        query = SentQuery(
            entry.send_id,
            entry.reserved_at,
            lambda number, body: ledger.identity(number, body) == entry.identity,
            lambda message_id: ledger.records_message(message_id, besides=entry.send_id),
        )
        return finder(query)

    with ThreadPoolExecutor(max_workers=max(1, min(concurrency, len(entries)))) as pool:
        futures: list[Future[Receipt | None]] = [pool.submit(one, e) for e, _ in entries]
        for future in as_completed(futures):
            if isinstance(future.exception(), GatewayAuthError):
                for pending in futures:
                    pending.cancel()  # no point asking with refused credentials
                raise future.exception()  # type: ignore[misc]
    out: list[_Looked] = []
    for (entry, match), future in zip(entries, futures, strict=True):
        error = future.exception()
        if error is not None and not isinstance(error, Exception):
            raise error  # KeyboardInterrupt and the like: not a failed lookup
        out.append((entry, match, None if error else future.result(), error))
    return out


def _finder(gateway: Gateway) -> Callable[[SentQuery], Receipt | None] | None:
    """The gateway's ``FindsSent.find_sent``, also through a wrapper that forwards attributes
    (``getattr``, not ``isinstance``: a Protocol check may not see forwarded ones)."""
    find = getattr(gateway, "find_sent", None)
    return find if callable(find) else None


_SETTLING = (Attempt.ACCEPTED, Attempt.SCHEDULED, Attempt.REJECTED)


def _mark_unknown(ledger: Ledger, entry: Entry, at: datetime, why: str) -> Entry:
    """A crash's leftover reservation we cannot settle now becomes UNKNOWN (a row it covers is
    then written back as 結果不明, never resent); an UNKNOWN entry stays as it is."""
    if entry.state is not State.RESERVED:
        return entry  # nothing written: no need to read it back
    ledger.settle(
        entry.send_id,
        state=State.UNKNOWN,
        code=ResultCode.UNKNOWN,
        reason=f"中断された送信です。{why}",
        at=at,
    )
    return ledger.get(entry.send_id) or entry


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
