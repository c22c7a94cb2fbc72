"""Outgoing messages → row results, through a Gateway, with the send ledger (DESIGN §1, §6).

Per message, in a worker thread (``workers``): ``ledger.reserve`` (committed) → ``gateway.send``
(one or more attempts, same send id: ``retry``) → ``ledger.settle``. Results are handed to
``on_result`` **on the calling thread**, so a single-threaded workbook writer, a progress bar and
progressive saves need no locking.

The send window and the hourly cap (``scheduling``) are checked for every message just before it
leaves, with the run's clock, through the same ``SlotBook`` the planner used: a run that reaches
the end of 送信時間帯 schedules the rest for the next opening (or holds them, HOLD_WINDOW), and a
retry never leaves after the window closed.

Stopping: an auth error, an unreachable gateway (or ``stop_after_failures`` messages in a row
that it took nothing of), a ledger that cannot be written, a failing
``on_result``, Ctrl-C or SIGTERM all stop the run the same way: nothing new starts, messages in
flight finish (or time out) and are settled, their callbacks run, then the error is raised
(Ctrl-C and SIGTERM as KeyboardInterrupt). Messages never started get no result: their rows stay
untouched and are planned afresh next time. The ledger never keeps a ``reserved`` entry for a
message whose answer is known — only a killed process leaves them, for ``reconcile``.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from .clock import JST
from .clock import now as japan_now
from .errors import GatewayUnavailable, LedgerError
from .gateways.base import Gateway, OutgoingMessage
from .ledger import DEFAULT_GUARD, SENT_STATES, STATE_CODES, Entry, Ledger, State, scrub_reason
from .phone import mask
from .ratelimit import TokenBucket
from .retry import Outcome, RetryPolicy, send_with_retries
from .schema import ResultCode
from .slots import Scheduling, Slot, SlotBook, hold_reason, hour_of
from .workers import Collected, Done, run_pool

__all__ = [
    "DispatchSettings",
    "Outgoing",
    "RowResult",
    "dispatch",
    "effective_rate",
]

log = logging.getLogger("kuden_xl.dispatch")


@dataclass(frozen=True)
class Outgoing:
    """One message the plan wants sent."""

    row: int
    number: str  # national form, 11 digits
    body: str
    segments: int
    scheduled_at: datetime | None = None


@dataclass(frozen=True)
class RowResult:
    """What became of one message. ``sent_at`` is Japan time: the scheduled time for SCHEDULED,
    the earlier send's time for SKIP_RECENT, else when the answer came."""

    row: int
    code: ResultCode
    reason: str
    message_id: str | None
    sent_at: datetime
    segments: int
    body: str
    # Planned for now, but the send window closed ("window") or the hour's cap filled ("cap")
    # before it left: scheduled for a later slot, or held (HOLD_WINDOW).
    deferred: str = ""


@dataclass(frozen=True)
class DispatchSettings:
    concurrency: int = 16
    rate_per_second: float | None = None  # None: off (the gateway's own limit still applies)
    max_attempts: int = 4
    backoff_s: float = 0.2  # first retry delay; doubles per attempt up to backoff_cap_s
    backoff_cap_s: float = 2.0
    # Same number + body already in the ledger within this window → SKIP_RECENT instead of a
    # send, checked in the same transaction as the reservation. The planner checks this too;
    # this closes the gap while the user confirms, or another process sends meanwhile. None: off
    # (pass None together with the planner's allow_resend).
    guard: timedelta | None = DEFAULT_GUARD
    # This many messages in a row that the gateway provably never took (every attempt refused
    # or not processed, e.g. connection refused) stop the run: the rest stay untouched.
    stop_after_failures: int = 3


@dataclass
class _Run:
    """One dispatch call's shared state (the workers' view)."""

    gateway: Gateway
    ledger: Ledger
    settings: DispatchSettings
    workbook: str
    sheet: str
    clock: Callable[[], datetime]
    bucket: TokenBucket | None
    policy: RetryPolicy
    slots: SlotBook | None = None  # None: send each message at the slot the plan gave it
    stop: threading.Event = field(default_factory=threading.Event)
    _streak: int = 0  # messages in a row the gateway took nothing of
    _streak_lock: threading.Lock = field(default_factory=threading.Lock)

    def work(self, index: int, item: Outgoing) -> Done[RowResult]:
        if self.stop.is_set():
            return Done(index, None)  # never reserved: the row stays as it was
        while True:  # a second round only when the window closed before a retry could leave
            now = self.clock()
            slot = self.slots.take(now) if self.slots else None
            deferred = slot.moved_by if slot and slot.at and item.scheduled_at is None else ""
            if (
                self.slots
                and slot
                and slot.at is not None
                and not self.slots.schedulable(slot, now)
            ):
                reason = hold_reason(
                    slot, self.slots.window, self.slots.cap, during_run=bool(deferred)
                )
                reason = reason.replace("。", self.slots.bounds_note() + "。", 1)
                held = self._result(item, ResultCode.HOLD_WINDOW, reason, None, deferred=deferred)
                return Done(index, held)
            scheduled_at = item.scheduled_at if slot is None else slot.at
            done = self._send(index, item, slot, scheduled_at, deferred)
            if done is not None:
                return done

    def _send(
        self,
        index: int,
        item: Outgoing,
        slot: Slot | None,
        scheduled_at: datetime | None,
        deferred: str,
    ) -> Done[RowResult] | None:
        """Reserve, send, settle one message at ``scheduled_at``; None: decide its slot again."""
        send_id = uuid.uuid4().hex
        reserved = self._reserve(index, item, slot, send_id, scheduled_at)
        if not isinstance(reserved, Entry):
            return reserved
        sends_now = slot is not None and slot.at is None
        outcome = send_with_retries(
            self.gateway,
            OutgoingMessage(send_id, item.number, item.body, scheduled_at),
            self.policy,
            self.stop,
            self.bucket,
            self._window_open if sends_now else None,
        )
        code = STATE_CODES[outcome.state]
        unrecorded = self._settle(send_id, outcome)
        if unrecorded is None and outcome.window_closed:
            self._give_back(slot)
            return None  # nothing left: the next slot is decided with the clock of now
        if outcome.state not in SENT_STATES:
            self._give_back(slot)  # the cap counts what leaves, not what was refused
        fatal = outcome.fatal or unrecorded or self._count_refusal(outcome)
        log.log(
            logging.WARNING if code is ResultCode.UNKNOWN else logging.INFO,
            "row %d to %s: %s %s (send %s)%s",
            item.row,
            mask(item.number),
            code.value,
            outcome.message_id or "",
            send_id,
            f": {scrub_reason(outcome.reason)}" if outcome.reason else "",
        )
        result = self._result(
            item,
            code,
            outcome.reason,
            outcome.message_id,
            scheduled_at=scheduled_at,
            deferred=deferred,
        )
        return Done(index, result, fatal)

    def _reserve(
        self,
        index: int,
        item: Outgoing,
        slot: Slot | None,
        send_id: str,
        scheduled_at: datetime | None,
    ) -> Entry | Done[RowResult]:
        """The reservation, committed before anything leaves; or the result of a message that
        must not leave (the ledger cannot be written, or it was sent recently)."""
        try:
            entry = self.ledger.reserve(
                self.ledger.identity(item.number, item.body),
                send_id=send_id,
                provider=self.gateway.name,
                gateway=self.gateway.identity,
                segments=item.segments,
                workbook=self.workbook,
                sheet=self.sheet,
                row=item.row,
                scheduled_at=scheduled_at,
                at=self.clock(),
                guard_within=self.settings.guard,
            )
        except LedgerError as exc:
            self.stop.set()
            self._give_back(slot)
            reason = "送信記録（台帳）に書き込めないため送信しませんでした"
            return Done(index, self._result(item, ResultCode.GATEWAY_ERROR, reason, None), exc)
        if entry.send_id == send_id:
            return entry
        self._give_back(slot)
        when = f"{entry.sent_at.astimezone(JST):%Y年%m月%d日 %H:%M}"
        reason = f"同じ番号に同じ本文を{when}に送信済み（または送信中）です"
        log.info("row %d to %s: recent send %s", item.row, mask(item.number), entry.send_id)
        # 送信日時 of a skipped row: when the earlier send went out, not now.
        skipped = self._result(item, ResultCode.SKIP_RECENT, reason, None, at=entry.sent_at)
        return Done(index, skipped)

    def _settle(self, send_id: str, outcome: Outcome) -> LedgerError | None:
        """Record the outcome; the ledger's error when it could not be recorded."""
        try:
            self.ledger.settle(
                send_id,
                state=outcome.state,
                code=STATE_CODES[outcome.state],
                message_id=outcome.message_id,
                reason=outcome.reason or None,
                at=self.clock(),
            )
        except LedgerError as exc:
            # The answer is known but not recorded: the entry stays reserved for reconcile, and
            # the row still gets its result. No further sends without a working ledger.
            self.stop.set()
            return exc
        return None

    def _window_open(self) -> bool:
        """Whether a message meant for now may still leave (asked before every attempt)."""
        return self.slots is None or self.slots.is_open(self.clock())

    def _give_back(self, slot: Slot | None) -> None:
        if self.slots is not None and slot is not None:
            self.slots.give_back(slot)

    def _count_refusal(self, outcome: Outcome) -> BaseException | None:
        """A gateway that takes nothing, message after message (connection refused), stops the
        run instead of being tried for every row."""
        with self._streak_lock:
            if not outcome.refused:
                if outcome.state is not State.FAILED:  # the gateway answered: it is reachable
                    self._streak = 0
                return None
            self._streak += 1
            if self._streak < self.settings.stop_after_failures or self.stop.is_set():
                return None
            self.stop.set()
            n = self._streak
        return GatewayUnavailable(
            f"SMS事業者に{n}件続けて送信できなかったため、送信を中止しました（{outcome.cause}）。"
            "まだ送信していない行はそのままです。接続先の設定と事業者の状況を確認して、"
            "もう一度送信してください。"
            f" / Stopped after {n} messages in a row could not be sent; the rest are untouched.",
            provider=self.gateway.name,
        )

    def _result(
        self,
        item: Outgoing,
        code: ResultCode,
        reason: str,
        message_id: str | None,
        at: datetime | None = None,
        *,
        scheduled_at: datetime | None = None,
        deferred: str = "",
    ) -> RowResult:
        at = at or self.clock()
        if code is ResultCode.SCHEDULED:
            at = scheduled_at or item.scheduled_at or at
        return RowResult(
            row=item.row,
            code=code,
            reason=reason,
            message_id=message_id,
            sent_at=at.astimezone(JST),
            segments=item.segments,
            body=item.body,
            deferred=deferred,
        )


def effective_rate(settings: DispatchSettings, gateway: Gateway) -> float | None:
    """The stricter of our rate limit and the gateway's; None when neither limits."""
    limits = [
        r
        for r in (settings.rate_per_second, gateway.capabilities.max_requests_per_second)
        if r is not None and r > 0
    ]
    return min(limits) if limits else None


def dispatch(
    outgoing: Sequence[Outgoing],
    gateway: Gateway,
    ledger: Ledger,
    *,
    settings: DispatchSettings = DispatchSettings(),
    workbook: str = "",
    sheet: str = "",
    on_result: Callable[[RowResult], None] | None = None,
    clock: Callable[[], datetime] | None = None,
    scheduling: Scheduling | None = None,
) -> list[RowResult]:
    """Send ``outgoing``; results in input order (messages never started have none).

    ``on_result`` runs on the calling thread as each message finishes. Run ``reconcile`` first.

    ``scheduling``: the window and hourly cap the plan used. Given, each message's slot is
    decided again just before it leaves, with ``clock`` and the ledger's count of sends per
    hour: once the window has closed (or the hour's cap is reached) the rest are scheduled for
    the next slot where the gateway can schedule, else HOLD_WINDOW. None: each message leaves
    at its ``scheduled_at``.

    Raises:
        GatewayAuthError, GatewayQuotaError, GatewayUnavailable, LedgerError: the run stopped;
            the callbacks for every finished message ran first.
        KeyboardInterrupt: Ctrl-C or SIGTERM (main thread only); same.
    """
    if settings.concurrency < 1 or settings.max_attempts < 1:
        raise ValueError("concurrency and max_attempts must be at least 1")
    rate = effective_rate(settings, gateway)
    clock = clock or japan_now
    run = _Run(
        gateway=gateway,
        ledger=ledger,
        settings=settings,
        workbook=workbook,
        sheet=sheet,
        clock=clock,
        bucket=TokenBucket(rate) if rate else None,
        policy=RetryPolicy(settings.max_attempts, settings.backoff_s, settings.backoff_cap_s),
        slots=_slot_book(scheduling, gateway, ledger, clock) if scheduling else None,
    )
    collected = Collected(on_result, run.stop)
    log.info(
        "dispatch %d messages via %s (concurrency %d, rate %s/s)",
        len(outgoing),
        gateway.name,
        settings.concurrency,
        rate or "unlimited",
    )
    interrupted = run_pool(outgoing, run.work, settings.concurrency, collected)
    if collected.errors:
        raise collected.errors[0]
    if interrupted:
        raise KeyboardInterrupt
    return collected.in_order()


def _slot_book(
    scheduling: Scheduling, gateway: Gateway, ledger: Ledger, clock: Callable[[], datetime]
) -> SlotBook:
    """The plan's rules with the ledger's count as of now (other runs may have sent since)."""
    already: dict[datetime, int] = {}
    if scheduling.hourly_cap is not None:
        already = ledger.sends_per_hour(hour_of(clock()), JST)
    return SlotBook(
        scheduling.window,
        scheduling.hourly_cap,
        already,
        can_schedule=gateway.capabilities.can_schedule,
        min_ahead=gateway.capabilities.schedule_min_ahead,
        max_ahead=gateway.capabilities.schedule_max_ahead,
    )
