"""Outgoing messages → row results, through a Gateway, with the send ledger (DESIGN §1, §6).

Per message, in a worker thread: ``ledger.reserve`` (committed) → ``gateway.send`` (one or more
attempts, same send id) → ``ledger.settle``. Results are handed to ``on_result`` **on the calling
thread**: workers put them on a queue that the caller's thread drains, so a single-threaded
workbook writer, a progress bar and progressive saves need no locking.

The send window and the hourly cap (``scheduling``) are checked for every message just before it
leaves, with the run's clock, through the same ``SlotBook`` the planner used: a run that reaches
the end of 送信時間帯 schedules the rest for the next opening (or holds them, HOLD_WINDOW), and a
retry never leaves after the window closed.

Retries (the gateway classifies each attempt, see ``gateways/base.py``):

- ACCEPTED / SCHEDULED / REJECTED end the message at once.
- NOT_PROCESSED is retried (bounded, exponential backoff, Retry-After honoured).
- MAYBE_PROCESSED is retried with the same send id only where the gateway is idempotent; without
  idempotency it is UNKNOWN at once — resending could text the resident twice.
- When attempts run out: GATEWAY_ERROR (ledger ``failed``) if no attempt may have been
  processed, else UNKNOWN. A maybe-processed attempt followed by a 429 is still UNKNOWN: the 429
  proves only that the *later* attempt did nothing.

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
import queue
import random
import threading
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from .clock import JST
from .clock import now as japan_now
from .errors import GatewayAuthError, GatewayQuotaError, GatewayUnavailable, LedgerError
from .gateways.base import Attempt, Gateway, OutgoingMessage, Receipt
from .ledger import DEFAULT_GUARD, SENT_STATES, STATE_CODES, Ledger, State, scrub_reason
from .phone import mask
from .ratelimit import TokenBucket
from .schema import ResultCode
from .signals import stop_on_signals
from .slots import Scheduling, Slot, SlotBook, hold_reason, hour_of

__all__ = [
    "DispatchSettings",
    "Outgoing",
    "RowResult",
    "dispatch",
    "effective_rate",
]

log = logging.getLogger("kuden_xl.dispatch")

RETRY_AFTER_CAP_S = 30.0  # a provider's Retry-After beyond this is not worth holding a worker


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
class _Done:
    index: int
    result: RowResult | None
    fatal: BaseException | None = None


@dataclass
class _Outcome:
    state: State
    reason: str
    message_id: str | None = None
    fatal: BaseException | None = None
    refused: bool = False  # every attempt was made and none was processed (nothing reached it)
    cause: str = ""  # the gateway's words for the last attempt
    window_closed: bool = False  # not sent: the window closed before a retry could leave


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
    slots: SlotBook | None = None  # None: send each message at the slot the plan gave it
    stop: threading.Event = field(default_factory=threading.Event)
    _streak: int = 0  # messages in a row the gateway took nothing of
    _streak_lock: threading.Lock = field(default_factory=threading.Lock)

    def work(self, index: int, item: Outgoing) -> _Done:
        if self.stop.is_set():
            return _Done(index, None)  # never reserved: the row stays as it was
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
                return _Done(index, held)
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
    ) -> _Done | None:
        """Reserve, send, settle one message at ``scheduled_at``; None: decide its slot again."""
        send_id = uuid.uuid4().hex
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
            return _Done(index, self._result(item, ResultCode.GATEWAY_ERROR, reason, None), exc)
        if entry.send_id != send_id:
            self._give_back(slot)
            when = f"{entry.sent_at.astimezone(JST):%Y年%m月%d日 %H:%M}"
            reason = f"同じ番号に同じ本文を{when}に送信済み（または送信中）です"
            log.info("row %d to %s: recent send %s", item.row, mask(item.number), entry.send_id)
            # 送信日時 of a skipped row: when the earlier send went out, not now.
            skipped = self._result(item, ResultCode.SKIP_RECENT, reason, None, at=entry.sent_at)
            return _Done(index, skipped)

        sends_now = slot is not None and slot.at is None
        outcome = self._attempts(item, send_id, scheduled_at, check_window=sends_now)
        code = STATE_CODES[outcome.state]
        fatal = outcome.fatal
        try:
            self.ledger.settle(
                send_id,
                state=outcome.state,
                code=code,
                message_id=outcome.message_id,
                reason=outcome.reason or None,
                at=self.clock(),
            )
        except LedgerError as exc:
            # The answer is known but not recorded: the entry stays reserved for reconcile, and
            # the row still gets its result. No further sends without a working ledger.
            self.stop.set()
            fatal = fatal or exc
        else:
            if outcome.window_closed:
                self._give_back(slot)
                return None  # nothing left: the next slot is decided with the clock of now
        if outcome.state not in SENT_STATES:
            self._give_back(slot)  # the cap counts what leaves, not what was refused
        fatal = fatal or self._count_refusal(outcome)
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
        return _Done(index, result, fatal)

    def _give_back(self, slot: Slot | None) -> None:
        if self.slots is not None and slot is not None:
            self.slots.give_back(slot)

    def _count_refusal(self, outcome: _Outcome) -> BaseException | None:
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
            f" / Stopped after {n} messages in a row could not be sent; the rest are untouched."
        )

    def _attempts(
        self, item: Outgoing, send_id: str, scheduled_at: datetime | None, *, check_window: bool
    ) -> _Outcome:
        message = OutgoingMessage(send_id, item.number, item.body, scheduled_at)
        caps = self.gateway.capabilities
        maybe = False  # some attempt may have been processed
        last: Receipt | None = None
        attempt = 0
        while attempt < self.settings.max_attempts:
            if self.stop.is_set() or (self.bucket and not self.bucket.acquire(self.stop)):
                break
            # Checked again after waiting for the rate limit's turn or a retry's delay: a
            # message meant for now never leaves once the window has closed.
            if check_window and self.slots and not self.slots.is_open(self.clock()):
                return self._closed(maybe, attempt, last)
            attempt += 1
            try:
                receipt = self.gateway.send(message)
            except (GatewayAuthError, GatewayQuotaError, GatewayUnavailable) as exc:
                self.stop.set()  # no message can succeed: stop the run
                why = {
                    GatewayAuthError: "認証エラーのため",
                    GatewayQuotaError: "送信可能件数の上限に達したため",
                }.get(type(exc), "接続できないため")
                return self._give_up(maybe, f"{why}送信を中止しました", exc)
            except Exception as exc:  # a gateway bug: the request may have left
                self.stop.set()
                return _Outcome(State.UNKNOWN, f"送信中に予期しないエラー: {exc}", fatal=exc)
            last = receipt
            log.debug("send %s attempt %d: %s", send_id, attempt, receipt.attempt.value)
            if receipt.attempt is Attempt.ACCEPTED:
                return _Outcome(State.ACCEPTED, "", receipt.message_id)
            if receipt.attempt is Attempt.SCHEDULED:
                return _Outcome(State.SCHEDULED, "", receipt.message_id)
            if receipt.attempt is Attempt.REJECTED:
                return _Outcome(State.REJECTED, receipt.reason or "事業者が受け付けませんでした")
            if receipt.attempt is Attempt.MAYBE_PROCESSED:
                maybe = True
                if not caps.idempotent:
                    break  # resending without an idempotency key could send twice
            if attempt < self.settings.max_attempts and self.stop.wait(self._delay(attempt, last)):
                break
        if attempt == 0:
            return _Outcome(State.FAILED, "中断したため送信しませんでした。もう一度送信できます")
        detail = f"{attempt}回試行" + (f"、{last.reason}" if last and last.reason else "")
        if self.stop.is_set() and attempt < self.settings.max_attempts:
            detail = "中断、" + detail
        outcome = self._give_up(maybe, detail, None)
        outcome.refused = not maybe and attempt == self.settings.max_attempts
        outcome.cause = (last.reason or "") if last else ""
        return outcome

    def _closed(self, maybe: bool, attempt: int, last: Receipt | None) -> _Outcome:
        """The window closed while a message meant for now waited for its turn or a retry."""
        if maybe:  # an earlier attempt may have arrived: neither resend nor reschedule it
            return self._give_up(
                maybe, f"{attempt}回試行、送信時間帯が終わったため再試行せず", None
            )
        tried = f"（{attempt}回試行、{last.reason}）" if last and last.reason else ""
        return _Outcome(
            State.FAILED, f"送信時間帯が終わったため送信しませんでした{tried}", window_closed=True
        )

    def _give_up(self, maybe: bool, detail: str, fatal: BaseException | None) -> _Outcome:
        if maybe:
            return _Outcome(
                State.UNKNOWN,
                f"届いたか確認できません（{detail}）。再送せず、配信結果を確認してください",
                fatal=fatal,
            )
        return _Outcome(
            State.FAILED, f"送信できませんでした（{detail}）。もう一度送信できます", fatal=fatal
        )

    def _delay(self, attempt: int, receipt: Receipt) -> float:
        base = min(self.settings.backoff_cap_s, self.settings.backoff_s * 2 ** (attempt - 1))
        base *= random.uniform(0.9, 1.1)  # spread retries of many threads apart
        return float(min(RETRY_AFTER_CAP_S, max(base, receipt.retry_after_s or 0.0)))

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
        slots=_slot_book(scheduling, gateway, ledger, clock) if scheduling else None,
    )
    done: queue.Queue[_Done] = queue.Queue()
    results: dict[int, RowResult] = {}
    errors: list[BaseException] = []  # the first one is raised at the end
    callback_failed = False
    window = settings.concurrency * 2  # submitted but unfinished: memory stays flat for 10,000

    def finish(item: _Done) -> None:
        nonlocal callback_failed
        if item.fatal is not None:
            errors.append(item.fatal)
        if item.result is None:
            return
        results[item.index] = item.result
        if on_result is not None and not callback_failed:
            try:
                on_result(item.result)
            except Exception as exc:  # e.g. the workbook cannot be written: stop sending
                run.stop.set()
                callback_failed = True
                errors.insert(0, exc)

    log.info(
        "dispatch %d messages via %s (concurrency %d, rate %s/s)",
        len(outgoing),
        gateway.name,
        settings.concurrency,
        rate or "unlimited",
    )
    pending = iter(enumerate(outgoing))
    running: set[Future[None]] = set()
    with ThreadPoolExecutor(settings.concurrency, thread_name_prefix="kuden-send") as pool:
        with stop_on_signals(run.stop) as interrupted:
            try:
                while True:
                    while len(running) < window and not run.stop.is_set():
                        nxt = next(pending, None)
                        if nxt is None:
                            break
                        future = pool.submit(_safe_work, run, nxt[0], nxt[1], done)
                        running.add(future)
                        future.add_done_callback(running.discard)
                    if not running and done.empty():
                        break
                    try:
                        finish(done.get(timeout=0.1))  # a timeout keeps Ctrl-C alive on Windows
                    except queue.Empty:
                        continue
            except KeyboardInterrupt:
                interrupted.append(True)
                run.stop.set()
                log.warning("interrupted: settling %d messages in flight", len(running))
                while running:
                    try:
                        wait(list(running), timeout=0.1)
                    except KeyboardInterrupt:
                        continue  # in-flight messages must be settled before we leave
                while not done.empty():
                    finish(done.get_nowait())
    if errors:
        raise errors[0]
    if interrupted:
        raise KeyboardInterrupt
    return [results[i] for i in sorted(results)]


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


def _safe_work(run: _Run, index: int, item: Outgoing, done: queue.Queue[_Done]) -> None:
    """A worker: always reports back, even on a bug, so the caller never waits forever."""
    try:
        done.put(run.work(index, item))
    except BaseException as exc:  # a bug: the entry stays reserved, reconcile will see it
        run.stop.set()
        done.put(_Done(index, None, exc))
