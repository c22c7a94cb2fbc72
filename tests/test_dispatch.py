"""dispatch() and reconcile() against the real sandbox server, SandboxGateway and a SQLite ledger.

Where the sandbox cannot show a property by itself — a provider *without* idempotency keys or
lookup, or credentials that stop working halfway — a small wrapper below changes only what the
gateway declares or which real gateway answers; every attempt still goes to the real server.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path

import pytest
import requests
from conftest import WrappedGateway
from ledger_helpers import recent

from kuden_xl.clock import JST
from kuden_xl.dispatch import (
    DispatchSettings,
    Outgoing,
    RowResult,
    dispatch,
    effective_rate,
)
from kuden_xl.errors import GatewayAuthError, GatewayUnavailable, LedgerError
from kuden_xl.gateways.base import (
    GatewayIdentity,
    OutgoingMessage,
    Receipt,
)
from kuden_xl.gateways.http import HttpSettings
from kuden_xl.gateways.sandbox import SandboxGateway
from kuden_xl.ledger import Ledger, State
from kuden_xl.ratelimit import TokenBucket
from kuden_xl.reconcile import reconcile
from kuden_xl.sandbox import SandboxServer
from kuden_xl.schema import ResultCode

T = datetime(2026, 11, 27, 10, 0, tzinfo=JST)
FAST = DispatchSettings(backoff_s=0.01, backoff_cap_s=0.05)
BODY = "国民健康保険料の納付についてお知らせします。"


def clock() -> datetime:
    return T


def num(i: int) -> str:
    """Synthetic numbers; the last two digits choose the sandbox's behaviour."""
    return f"0901234{i:04d}"


def out(i: int, body: str = BODY, **kw: object) -> Outgoing:
    return Outgoing(row=i + 1, number=num(i), body=body, segments=1, **kw)  # type: ignore[arg-type]


def bulk(n: int) -> list[Outgoing]:
    """``n`` messages to numbers ending in 99: no sandbox fault."""
    return [Outgoing(row=k + 2, number=f"080{k:06d}99", body=BODY, segments=1) for k in range(n)]


@pytest.fixture
def sandbox() -> Iterator[SandboxServer]:
    server = SandboxServer(slow_s=0.6).start()
    yield server
    server.stop()


def http(server: SandboxServer, token: str | None = None) -> HttpSettings:
    return HttpSettings(base_url=server.url, token=token or server.token, read_timeout_s=0.3)


@pytest.fixture
def gateway(sandbox: SandboxServer) -> Iterator[SandboxGateway]:
    gw = SandboxGateway(http(sandbox))
    yield gw
    gw.close()


@pytest.fixture
def ledger(tmp_path: Path) -> Iterator[Ledger]:
    with Ledger.open(tmp_path / "ledger.sqlite3") as led:
        yield led


def at_sandbox(server: SandboxServer) -> list[dict[str, str]]:
    answer = requests.get(f"{server.url}/_sandbox/messages", timeout=5)
    answer.raise_for_status()
    return list(answer.json())


class Declared(WrappedGateway):
    """The real SandboxGateway with other declared capabilities; counts attempts per number."""

    def __init__(self, inner: SandboxGateway, **caps: object) -> None:
        super().__init__(inner, **caps)
        self.attempts: Counter[str] = Counter()
        self.sent_times: list[float] = []
        self._lock = threading.Lock()

    def send(self, message: OutgoingMessage) -> Receipt:
        with self._lock:
            self.attempts[message.to] += 1
            self.sent_times.append(time.monotonic())
        return self.inner.send(message)


def no_idempotency(gw: SandboxGateway) -> Declared:
    return Declared(gw, idempotent=False, lookup_by_send_id=False)


# -- the main path and the retry rules ------------------------------------------------------


def test_every_fault_number_ends_with_exactly_one_message(
    sandbox: SandboxServer, gateway: SandboxGateway, ledger: Ledger
) -> None:
    counting = Declared(gateway)
    items = [out(i) for i in (1, 2, 3, 4, 5, 6, 7, 8, 10, 11)]
    seen: list[tuple[int, int]] = []
    results = dispatch(
        items,
        counting,
        ledger,
        settings=FAST,
        workbook="名簿.xlsx",
        sheet="Sheet1",
        on_result=lambda r: seen.append((r.row, threading.get_ident())),
        clock=clock,
    )
    assert [r.row for r in results] == [i.row for i in items]  # input order
    codes = {r.row - 1: r.code for r in results}
    assert codes[1] is ResultCode.REJECTED
    assert all(codes[i] is ResultCode.ACCEPTED for i in (2, 3, 4, 5, 6, 7, 8, 10, 11))
    # Callbacks on the calling thread, once per row.
    assert sorted(r for r, _ in seen) == [i.row for i in items]
    assert {t for _, t in seen} == {threading.get_ident()}
    # Exactly one message per accepted number at the sandbox, none for the rejected one.
    messages = at_sandbox(sandbox)
    assert Counter(m["to"] for m in messages) == Counter(
        num(i) for i in codes if codes[i] is ResultCode.ACCEPTED
    )
    ids = {m["to"]: m["id"] for m in messages}
    for r in results:
        if r.code is ResultCode.ACCEPTED:
            assert r.message_id == ids[num(r.row - 1)]
        assert r.sent_at == T and r.body == BODY and r.segments == 1
    # The faults were retried with the same send id: one key per number at the sandbox.
    assert len({m["idempotency_key"] for m in messages}) == len(messages)
    assert counting.attempts[num(3)] == 2 and counting.attempts[num(5)] == 2
    assert counting.attempts[num(6)] == 2 and counting.attempts[num(7)] == 1
    # The ledger holds every send, settled.
    assert ledger.unsettled() == [] and ledger.count() == len(items)
    found = ledger.find_sent(ledger.identity(num(5), BODY))
    assert found is not None and found.message_id == ids[num(5)]
    assert (found.workbook, found.sheet, found.row) == ("名簿.xlsx", "Sheet1", 6)


def test_non_idempotent_gateway_retries_only_what_was_not_processed(
    sandbox: SandboxServer, gateway: SandboxGateway, ledger: Ledger
) -> None:
    gw = no_idempotency(gateway)
    results = {
        r.row - 1: r
        for r in dispatch([out(i) for i in (3, 4, 5, 6)], gw, ledger, settings=FAST, clock=clock)
    }
    assert results[3].code is ResultCode.ACCEPTED and gw.attempts[num(3)] == 2  # 429, retried
    assert results[4].code is ResultCode.ACCEPTED and gw.attempts[num(4)] == 2  # 5xx: not recorded
    assert results[5].code is ResultCode.UNKNOWN and gw.attempts[num(5)] == 1  # timeout
    assert results[6].code is ResultCode.UNKNOWN and gw.attempts[num(6)] == 1  # dropped
    assert "再送せず" in results[5].reason and results[5].message_id is None
    counts = Counter(m["to"] for m in at_sandbox(sandbox))
    # …05 was recorded although we never saw the answer; …06 was not. Neither is resent.
    assert counts == Counter({num(3): 1, num(4): 1, num(5): 1})
    unsettled = ledger.unsettled()
    assert {e.state for e in unsettled} == {State.UNKNOWN} and len(unsettled) == 2


def test_attempts_run_out(sandbox: SandboxServer, gateway: SandboxGateway, ledger: Ledger) -> None:
    once = replace(FAST, max_attempts=1)
    results = {
        r.row - 1: r
        for r in dispatch([out(3), out(5)], gateway, ledger, settings=once, clock=clock)
    }
    # Last attempt NOT_PROCESSED: provably not sent. Last attempt MAYBE: unknown.
    assert (
        results[3].code is ResultCode.GATEWAY_ERROR and "もう一度送信できます" in results[3].reason
    )
    assert results[5].code is ResultCode.UNKNOWN
    states = {e.send_id: e.state for e in ledger.unsettled()}
    assert list(states.values()) == [State.UNKNOWN]
    failed = recent(ledger, ledger.identity(num(3), BODY), now=T)
    assert failed is None  # failed entries never block a later send
    assert Counter(m["to"] for m in at_sandbox(sandbox)) == Counter({num(5): 1})


def test_scheduled_message(sandbox: SandboxServer, gateway: SandboxGateway, ledger: Ledger) -> None:
    slot = datetime(2099, 6, 2, 9, 0, tzinfo=JST)  # in the sandbox's real future, whenever run
    [result] = dispatch([out(7, scheduled_at=slot)], gateway, ledger, settings=FAST, clock=clock)
    assert result.code is ResultCode.SCHEDULED and result.sent_at == slot
    assert result.sent_at.utcoffset() == timedelta(hours=9)
    entry = ledger.find_sent(ledger.identity(num(7), BODY))
    assert entry is not None and entry.state is State.SCHEDULED and entry.scheduled_at == slot
    [message] = at_sandbox(sandbox)
    assert datetime.fromisoformat(message["scheduled_at"]) == slot


def test_recent_guard_in_the_same_transaction(
    sandbox: SandboxServer, gateway: SandboxGateway, ledger: Ledger
) -> None:
    first = dispatch([out(7), out(7)], gateway, ledger, settings=FAST, clock=clock)
    assert sorted(r.code.value for r in first) == ["ACCEPTED", "SKIP_RECENT"]
    later = T + timedelta(days=2)
    again = dispatch([out(7)], gateway, ledger, settings=FAST, clock=lambda: later)
    assert again[0].code is ResultCode.SKIP_RECENT and "送信済み" in again[0].reason
    assert again[0].sent_at == T and again[0].message_id is None  # when it was sent
    assert len(at_sandbox(sandbox)) == 1
    # Another body, or the guard turned off (the planner's allow_resend): sent.
    dispatch([out(7, body="別の本文")], gateway, ledger, settings=FAST, clock=clock)
    off = replace(FAST, guard=None)
    assert dispatch([out(7)], gateway, ledger, settings=off, clock=clock)[0].code is (
        ResultCode.ACCEPTED
    )
    assert len(at_sandbox(sandbox)) == 3


def test_logs_never_hold_a_full_number(
    gateway: SandboxGateway, ledger: Ledger, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="kuden_xl")
    items = [out(i) for i in (1, 3, 7)]
    dispatch(items, gateway, ledger, settings=FAST, clock=clock)
    assert "090-****-0007" in caplog.text
    for item in items:
        assert item.number not in caplog.text


# -- stopping -------------------------------------------------------------------------------


class AuthFailsAfter(WrappedGateway):
    """Credentials revoked mid-run: the first ``n`` sends go through a gateway with the right
    token, later ones through one with a wrong token (the real server answers 401)."""

    def __init__(self, good: SandboxGateway, bad: SandboxGateway, n: int) -> None:
        super().__init__(good)
        self._bad, self._left = bad, n
        self._lock = threading.Lock()

    def send(self, message: OutgoingMessage) -> Receipt:
        with self._lock:
            self._left -= 1
            use = self.inner if self._left >= 0 else self._bad
        return use.send(message)


def test_auth_error_stops_the_run(
    sandbox: SandboxServer, gateway: SandboxGateway, ledger: Ledger
) -> None:
    bad = SandboxGateway(http(sandbox, token="wrong"))
    gw = AuthFailsAfter(gateway, bad, n=10)
    seen: list[RowResult] = []
    items = bulk(200)
    with pytest.raises(GatewayAuthError):
        dispatch(
            items,
            gw,
            ledger,
            settings=replace(FAST, concurrency=4),
            on_result=seen.append,
            clock=clock,
        )
    bad.close()
    accepted = [r for r in seen if r.code is ResultCode.ACCEPTED]
    refused = [r for r in seen if r.code is ResultCode.GATEWAY_ERROR]
    assert len(accepted) == 10 and len(accepted) + len(refused) == len(seen) < len(items)
    # The refused attempt(s), and those reserved but stopped before their first attempt.
    assert any("認証エラー" in r.reason for r in refused)
    assert all("認証エラー" in r.reason or "中断" in r.reason for r in refused)
    assert len(at_sandbox(sandbox)) == 10
    # Everything that started is settled; nothing was left reserved.
    assert ledger.count() == len(seen) and ledger.unsettled() == []


def test_wrong_token_sends_nothing(sandbox: SandboxServer, ledger: Ledger) -> None:
    bad = SandboxGateway(http(sandbox, token="wrong"))
    with pytest.raises(GatewayAuthError):
        dispatch(bulk(20), bad, ledger, settings=FAST, clock=clock)
    bad.close()
    assert at_sandbox(sandbox) == [] and ledger.unsettled() == []


def assert_stopped_cleanly(sandbox: SandboxServer, ledger: Ledger, seen: list[RowResult]) -> None:
    """Every started message settled and reported; what was not sent is said so."""
    assert ledger.unsettled() == [] and ledger.count() == len(seen)
    accepted = [r for r in seen if r.code is ResultCode.ACCEPTED]
    assert len(at_sandbox(sandbox)) == len(accepted)
    others = [r for r in seen if r.code is not ResultCode.ACCEPTED]
    assert all(r.code is ResultCode.GATEWAY_ERROR and "中断" in r.reason for r in others)


def test_ctrl_c_settles_what_is_in_flight(
    sandbox: SandboxServer, gateway: SandboxGateway, ledger: Ledger
) -> None:
    seen: list[RowResult] = []

    def on_result(result: RowResult) -> None:
        seen.append(result)
        if len(seen) == 3:
            raise KeyboardInterrupt  # as if Ctrl-C landed while the caller wrote a result

    with pytest.raises(KeyboardInterrupt):
        dispatch(
            bulk(300),
            gateway,
            ledger,
            settings=FAST,
            on_result=on_result,
            clock=clock,
        )
    assert 3 <= len(seen) < 300
    assert_stopped_cleanly(sandbox, ledger, seen)


def test_sigterm_stops_like_ctrl_c(
    sandbox: SandboxServer, gateway: SandboxGateway, ledger: Ledger
) -> None:
    seen: list[RowResult] = []

    def on_result(result: RowResult) -> None:
        seen.append(result)
        if len(seen) == 2:
            os.kill(os.getpid(), signal.SIGTERM)

    previous = signal.getsignal(signal.SIGTERM)
    with pytest.raises(KeyboardInterrupt):
        dispatch(
            bulk(300),
            gateway,
            ledger,
            settings=FAST,
            on_result=on_result,
            clock=clock,
        )
    assert signal.getsignal(signal.SIGTERM) is previous  # handler restored
    assert 2 <= len(seen) < 300
    assert_stopped_cleanly(sandbox, ledger, seen)


def test_ctrl_c_never_lands_inside_a_callback(
    sandbox: SandboxServer, gateway: SandboxGateway, ledger: Ledger
) -> None:
    """A real SIGINT is a stop flag while dispatching: every result's callback runs to its end,
    so what the caller counts (and tells staff) is exactly what was sent."""
    seen: list[RowResult] = []
    completed = 0

    def on_result(result: RowResult) -> None:
        nonlocal completed
        seen.append(result)
        if len(seen) == 2:
            os.kill(os.getpid(), signal.SIGINT)
        completed += 1  # the end of the callback: reached for every result

    previous = signal.getsignal(signal.SIGINT)
    with pytest.raises(KeyboardInterrupt):
        dispatch(bulk(300), gateway, ledger, settings=FAST, on_result=on_result, clock=clock)
    assert signal.getsignal(signal.SIGINT) is previous
    assert completed == len(seen) and 2 <= len(seen) < 300
    assert_stopped_cleanly(sandbox, ledger, seen)


def test_failing_callback_stops_the_run(
    sandbox: SandboxServer, gateway: SandboxGateway, ledger: Ledger
) -> None:
    calls = 0

    def on_result(result: RowResult) -> None:
        nonlocal calls
        calls += 1
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        dispatch(
            bulk(200),
            gateway,
            ledger,
            settings=FAST,
            on_result=on_result,
            clock=clock,
        )
    assert calls == 1  # not called again once it failed
    assert ledger.unsettled() == [] and ledger.count() < 200
    sent = ledger.find_sent_many(ledger.identity(o.number, o.body) for o in bulk(200))
    assert len(at_sandbox(sandbox)) == len(sent) >= 1


def test_closed_ledger_sends_nothing(
    sandbox: SandboxServer, gateway: SandboxGateway, tmp_path: Path
) -> None:
    led = Ledger.open(tmp_path / "ledger.sqlite3")
    led.close()
    with pytest.raises(LedgerError):
        dispatch(bulk(10), gateway, led, settings=FAST, clock=clock)
    assert at_sandbox(sandbox) == []


# -- rate limiting --------------------------------------------------------------------------


def test_rate_limit_is_held(gateway: SandboxGateway, ledger: Ledger) -> None:
    counting = Declared(gateway)
    started = time.monotonic()
    results = dispatch(
        bulk(30),
        counting,
        ledger,
        settings=replace(FAST, rate_per_second=25.0),
        clock=clock,
    )
    elapsed = time.monotonic() - started
    assert all(r.code is ResultCode.ACCEPTED for r in results)
    assert elapsed >= 29 / 25 * 0.95
    times = sorted(counting.sent_times)
    # The k-th send never starts before its token: k / rate after the bucket was made (the
    # first token is free). Only a lower bound is asserted: a loaded machine may delay a thread
    # after its token (two sends then start close together), but never make one early.
    assert all(t >= started + k / 25.0 - 0.005 for k, t in enumerate(times))


def test_gateway_limit_caps_the_rate(gateway: SandboxGateway) -> None:
    slow = Declared(gateway, max_requests_per_second=5.0)
    assert effective_rate(DispatchSettings(), gateway) is None
    assert effective_rate(DispatchSettings(rate_per_second=50.0), slow) == 5.0
    assert effective_rate(DispatchSettings(rate_per_second=2.0), slow) == 2.0


def test_token_bucket_paces_threads_and_can_be_cancelled() -> None:
    bucket = TokenBucket(100.0)
    started = time.monotonic()
    threads = [
        threading.Thread(target=lambda: [bucket.acquire() for _ in range(10)]) for _ in range(4)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert 0.36 <= time.monotonic() - started < 2.0  # 40 tokens, the first one free
    slow = TokenBucket(0.5)
    assert slow.acquire() is True
    cancel = threading.Event()
    threading.Timer(0.05, cancel.set).start()
    began = time.monotonic()
    assert slow.acquire(cancel) is False and time.monotonic() - began < 1.0
    with pytest.raises(ValueError):
        TokenBucket(0)


# -- reconcile ------------------------------------------------------------------------------


def reserve(ledger: Ledger, i: int, via: GatewayIdentity) -> str:
    sid = uuid.uuid4().hex
    ledger.reserve(
        ledger.identity(num(i), BODY),
        send_id=sid,
        provider=via.provider,
        gateway=via,
        segments=1,
        workbook="名簿.xlsx",
        sheet="Sheet1",
        row=i,
        at=T - timedelta(minutes=1),
    )
    return sid


def test_reconcile_after_a_crash(
    sandbox: SandboxServer, gateway: SandboxGateway, ledger: Ledger, tmp_path: Path
) -> None:
    # A run that died: its Ledger is gone (here closed; test_ledger covers a SIGKILL).
    with Ledger.open(ledger.path) as crashed:
        arrived = reserve(crashed, 7, gateway.identity)
        receipt = gateway.send(OutgoingMessage(arrived, num(7), BODY))  # left before the crash
        never = reserve(crashed, 8, gateway.identity)  # the crash came before the request left
        timed_out = reserve(crashed, 9, gateway.identity)
        crashed.settle(timed_out, state=State.UNKNOWN, code=ResultCode.UNKNOWN)
        other = reserve(crashed, 11, GatewayIdentity("karaden", "https://api.karaden.test", "t1"))
    # A run still going in another Ledger: its reservation may be on the wire right now.
    running = Ledger.open(ledger.path)
    in_flight = reserve(running, 10, gateway.identity)

    report = reconcile(ledger, gateway, clock=clock)
    running.close()
    assert [e.send_id for e in report.found] == [arrived]
    assert report.found[0].state is State.ACCEPTED
    assert report.found[0].message_id == receipt.message_id is not None
    assert {e.send_id for e in report.not_sent} == {never, timed_out}
    assert all(e.state is State.FAILED for e in report.not_sent)
    assert {e.send_id for e in report.left} == {in_flight, other}
    assert report.settled == 3 and report.checked == 5
    assert {e.send_id for e in ledger.unsettled()} == {in_flight, other}
    # The restored record is what the planner finds for the row.
    found = ledger.find_sent(ledger.identity(num(7), BODY))
    assert found is not None and found.message_id == receipt.message_id
    assert len(at_sandbox(sandbox)) == 1
    # Once that run has ended, its entry is reconciled too.
    again = reconcile(ledger, gateway, clock=clock)
    assert [e.send_id for e in again.not_sent] == [in_flight]


def test_reconcile_without_lookup_leaves_unknown(gateway: SandboxGateway, ledger: Ledger) -> None:
    with Ledger.open(ledger.path) as gone:
        crashed = reserve(gone, 7, gateway.identity)
    report = reconcile(ledger, no_idempotency(gateway), clock=clock)
    assert [e.send_id for e in report.unknown] == [crashed] and report.settled == 0
    [entry] = ledger.unsettled()
    assert entry.state is State.UNKNOWN and entry.code is ResultCode.UNKNOWN
    # The guard keeps it from being sent again blindly.
    assert recent(ledger, ledger.identity(num(7), BODY), now=T) is not None


# -- failure branches of exactly-once -------------------------------------------------------


class Faulty(WrappedGateway):
    """The real SandboxGateway; the ``nth`` send (counting from 1) reaches the real server and
    then ``fault(receipt)`` runs: it may raise, or return what the caller gets instead."""

    def __init__(self, inner: SandboxGateway, nth: int, fault: object) -> None:
        super().__init__(inner)
        self.nth = nth
        self.fault = fault
        self.calls = 0
        self._lock = threading.Lock()

    def send(self, message: OutgoingMessage) -> Receipt:
        with self._lock:
            self.calls += 1
            call = self.calls
        receipt = self.inner.send(message)
        if call == self.nth:
            return self.fault(receipt)  # type: ignore[operator,no-any-return]
        return receipt


def dispatch_in_thread(*args: object, **kwargs: object) -> BaseException | None:
    """Run dispatch in a thread that must end within 60 s (a hang fails the test, not CI)."""
    raised: list[BaseException] = []

    def target() -> None:
        try:
            dispatch(*args, **kwargs)  # type: ignore[arg-type]
        except BaseException as exc:
            raised.append(exc)

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(timeout=60)
    assert not thread.is_alive(), "dispatch hung"
    return raised[0] if raised else None


ONE_AT_A_TIME = replace(FAST, concurrency=1)


def test_settle_failing_after_the_answer_keeps_the_entry_for_reconcile(
    sandbox: SandboxServer, gateway: SandboxGateway, tmp_path: Path
) -> None:
    path = tmp_path / "ledger.sqlite3"
    led = Ledger.open(path)

    def ledger_lost(receipt: Receipt) -> Receipt:
        led.close()  # the answer is in; the ledger can no longer be written
        return receipt

    gw = Faulty(gateway, 2, ledger_lost)
    seen: list[RowResult] = []
    items = bulk(5)
    raised = dispatch_in_thread(
        items, gw, led, settings=ONE_AT_A_TIME, on_result=seen.append, clock=clock
    )
    assert isinstance(raised, LedgerError)
    # The row still gets its result (the gateway took it); the run stopped there.
    assert [r.code for r in seen] == [ResultCode.ACCEPTED, ResultCode.ACCEPTED]
    assert gw.calls == 2 and len(at_sandbox(sandbox)) == 2
    with Ledger.open(path) as after:
        [left] = after.unsettled()
        assert left.state is State.RESERVED and left.row == items[1].row
        report = reconcile(after, gateway, clock=clock)
        assert [e.send_id for e in report.found] == [left.send_id]
        assert report.found[0].message_id == seen[1].message_id
        assert after.unsettled() == []
    assert len(at_sandbox(sandbox)) == 2  # nothing sent twice


def test_gateway_raising_after_the_request_left_is_unknown(
    sandbox: SandboxServer, gateway: SandboxGateway, ledger: Ledger
) -> None:
    def bug(receipt: Receipt) -> Receipt:
        raise RuntimeError("provider module bug")

    gw = Faulty(gateway, 1, bug)
    seen: list[RowResult] = []
    raised = dispatch_in_thread(
        bulk(5), gw, ledger, settings=ONE_AT_A_TIME, on_result=seen.append, clock=clock
    )
    assert isinstance(raised, RuntimeError)
    [result] = seen
    assert result.code is ResultCode.UNKNOWN and "予期しないエラー" in result.reason
    [entry] = ledger.unsettled()
    assert entry.state is State.UNKNOWN  # never resent blindly; reconcile asks the provider
    assert gw.calls == 1 and len(at_sandbox(sandbox)) == 1
    report = reconcile(ledger, gateway, clock=clock)
    assert [e.state for e in report.found] == [State.ACCEPTED]
    assert len(at_sandbox(sandbox)) == 1


def test_a_worker_dying_stops_the_run_without_a_hang(
    sandbox: SandboxServer, gateway: SandboxGateway, tmp_path: Path
) -> None:
    path = tmp_path / "ledger.sqlite3"

    def garbage(receipt: Receipt) -> Receipt:
        return None  # type: ignore[return-value]  # a provider bug: the worker fails on it

    gw = Faulty(gateway, 3, garbage)
    seen: list[RowResult] = []
    with Ledger.open(path) as led:
        raised = dispatch_in_thread(
            bulk(40),
            gw,
            led,
            settings=replace(FAST, concurrency=4),
            on_result=seen.append,
            clock=clock,
        )
        assert isinstance(raised, AttributeError)
        accepted = [r for r in seen if r.code is ResultCode.ACCEPTED]
        stopped = [r for r in seen if r.code is ResultCode.GATEWAY_ERROR and "中断" in r.reason]
        assert len(seen) < 40 and len(accepted) + len(stopped) == len(seen)
        [left] = led.unsettled()  # the dead worker's message: no result, entry kept
        assert left.state is State.RESERVED and left.row not in {r.row for r in seen}
        assert led.count() == len(seen) + 1
    with Ledger.open(path) as after:  # the next run reconciles it
        report = reconcile(after, gateway, clock=clock)
        assert [e.send_id for e in report.found] == [left.send_id]
    assert len(at_sandbox(sandbox)) == len(accepted) + 1


def test_a_gateway_refusing_connections_stops_the_run(ledger: Ledger) -> None:
    seen: list[RowResult] = []
    with socket.socket() as closed:  # bound but never listening: every connection is refused
        closed.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{closed.getsockname()[1]}"
        gw = SandboxGateway(HttpSettings(base_url=url, token="t", read_timeout_s=0.3))
        with pytest.raises(GatewayUnavailable, match="3件続けて送信できなかった") as stopped:
            dispatch(
                bulk(100),
                gw,
                ledger,
                settings=replace(FAST, concurrency=4),
                on_result=seen.append,
                clock=clock,
            )
        gw.close()
    assert "事業者に接続できません" in str(stopped.value)
    assert (stopped.value.provider, stopped.value.status) == ("sandbox", None)
    # Three refused in a row, plus at most the other workers' messages in flight then.
    assert 3 <= len(seen) <= 3 + 4 - 1
    assert all(r.code is ResultCode.GATEWAY_ERROR for r in seen)
    assert ledger.count() == len(seen) and ledger.unsettled() == []  # the rest: untouched
