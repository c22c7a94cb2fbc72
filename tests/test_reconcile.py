"""reconcile(): concurrent lookups, a lookup that fails, refused credentials, old ledger entries.

Real sandbox servers, real SandboxGateways and a SQLite ledger. A wrapper changes only which
real gateway answers a lookup; every lookup still goes over HTTP to a real server.
"""

from __future__ import annotations

import socket
import threading
import uuid
from collections.abc import Iterator, Sequence
from datetime import datetime
from pathlib import Path

import pytest
from ledger_helpers import recent
from twilio_stub import ACCOUNT, HANG_BEFORE_CREATE, TOKEN, TwilioStub

from kuden_xl.clock import JST
from kuden_xl.dispatch import DispatchSettings, Outgoing, dispatch
from kuden_xl.errors import GatewayAuthError
from kuden_xl.gateways.base import DeliveryStatus, GatewayIdentity, OutgoingMessage, Receipt
from kuden_xl.gateways.http import HttpSettings
from kuden_xl.gateways.sandbox import SandboxGateway
from kuden_xl.gateways.twilio import TwilioGateway, TwilioSettings
from kuden_xl.ledger import Ledger, State
from kuden_xl.reconcile import reconcile
from kuden_xl.sandbox import SandboxServer
from kuden_xl.schema import ResultCode

T = datetime(2026, 11, 27, 10, 0, tzinfo=JST)
BODY = "国民健康保険料の納付についてお知らせします。"


def clock() -> datetime:
    return T


def num(i: int) -> str:
    """Last two digits 10-99: no sandbox fault."""
    return f"0801234{10 + i:04d}"


@pytest.fixture
def server() -> Iterator[SandboxServer]:
    s = SandboxServer().start()
    yield s
    s.stop()


def gateway_to(
    url: str, token: str = "sandbox-token", read_timeout_s: float = 5.0
) -> SandboxGateway:
    return SandboxGateway(HttpSettings(base_url=url, token=token, read_timeout_s=read_timeout_s))


@pytest.fixture
def gateway(server: SandboxServer) -> Iterator[SandboxGateway]:
    gw = gateway_to(server.url, server.token)
    yield gw
    gw.close()


class Routed:
    """The real gateway's identity; each lookup answered by the real gateway ``route`` picks."""

    def __init__(self, inner: SandboxGateway, route: dict[str, SandboxGateway]) -> None:
        self.inner, self.route = inner, route
        self.name, self.identity, self.capabilities = inner.name, inner.identity, inner.capabilities

    def send(self, message: OutgoingMessage) -> Receipt:
        return self.inner.send(message)

    def status(self, message_ids: Sequence[str]) -> list[DeliveryStatus]:
        return self.inner.status(message_ids)

    def lookup(self, send_id: str) -> Receipt | None:
        return self.route.get(send_id, self.inner).lookup(send_id)

    def close(self) -> None:
        pass


class Rendezvous(Routed):
    """Every lookup waits until ``parties`` lookups are in flight at once (then all go on).

    Lookups one at a time never get there: the barrier times out and those lookups fail.
    """

    def __init__(self, inner: SandboxGateway, parties: int) -> None:
        super().__init__(inner, {})
        self.barrier = threading.Barrier(parties, timeout=10)

    def lookup(self, send_id: str) -> Receipt | None:
        self.barrier.wait()
        return self.inner.lookup(send_id)


def crashed_run(path: Path, gateway: SandboxGateway, n: int, *, arrive: int) -> list[str]:
    """A run that died: ``n`` reservations through ``gateway``; the first ``arrive`` left."""
    ids = []
    with Ledger.open(path) as ledger:
        for i in range(n):
            sid = uuid.uuid4().hex
            ledger.reserve(
                ledger.identity(num(i), BODY),
                send_id=sid,
                provider=gateway.name,
                gateway=gateway.identity,
                segments=1,
                at=T,
            )
            if i < arrive:
                assert gateway.send(OutgoingMessage(sid, num(i), BODY)).message_id
            ids.append(sid)
    return ids


def closed_port_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{s.getsockname()[1]}"  # nobody listens there once closed


def test_lookups_run_concurrently(tmp_path: Path, gateway: SandboxGateway) -> None:
    path = tmp_path / "ledger.sqlite3"
    ids = crashed_run(path, gateway, 12, arrive=6)
    with Ledger.open(path) as ledger:
        report = reconcile(ledger, Rendezvous(gateway, parties=12), clock=clock)
        assert {e.send_id for e in report.found} == set(ids[:6])
        assert {e.send_id for e in report.not_sent} == set(ids[6:])
        assert report.unknown == () and ledger.unsettled() == []


def test_a_failed_lookup_leaves_the_entry_unknown(
    tmp_path: Path, gateway: SandboxGateway, server: SandboxServer
) -> None:
    path = tmp_path / "ledger.sqlite3"
    ids = crashed_run(path, gateway, 4, arrive=2)
    slow_server = SandboxServer(latency_ms=500).start()
    refused = gateway_to(closed_port_url())  # connection refused
    timing_out = gateway_to(slow_server.url, read_timeout_s=0.05)  # answers after we gave up
    try:
        # ids[0] arrived, its lookup times out; ids[2] never arrived, its lookup is refused.
        failing = Routed(gateway, {ids[0]: timing_out, ids[2]: refused})
        with Ledger.open(path) as ledger:
            report = reconcile(ledger, failing, clock=clock)
            assert [e.send_id for e in report.found] == [ids[1]]
            assert [e.send_id for e in report.not_sent] == [ids[3]]
            assert {e.send_id for e in report.unknown} == {ids[0], ids[2]}
            for sid in (ids[0], ids[2]):
                entry = ledger.get(sid)
                assert entry is not None and entry.state is State.UNKNOWN
                assert entry.code is ResultCode.UNKNOWN and "照会に失敗" in (entry.reason or "")
            # Never "not sent" on a failure: the guard still holds both numbers.
            assert recent(ledger, ledger.identity(num(0), BODY), now=T) is not None
            assert recent(ledger, ledger.identity(num(2), BODY), now=T) is not None
            # The next run, with the gateway reachable, settles them for good.
            again = reconcile(ledger, gateway, clock=clock)
            assert [e.send_id for e in again.found] == [ids[0]]
            assert [e.send_id for e in again.not_sent] == [ids[2]]
            assert ledger.unsettled() == []
    finally:
        refused.close()
        timing_out.close()
        slow_server.stop()


def test_refused_credentials_stop_reconciliation(
    tmp_path: Path, gateway: SandboxGateway, server: SandboxServer
) -> None:
    path = tmp_path / "ledger.sqlite3"
    ids = crashed_run(path, gateway, 20, arrive=10)
    wrong = gateway_to(server.url, token="revoked")
    try:
        revoked = Routed(gateway, {sid: wrong for sid in ids})
        with Ledger.open(path) as ledger:
            with pytest.raises(GatewayAuthError):
                reconcile(ledger, revoked, clock=clock)
            assert {e.state for e in ledger.unsettled()} == {State.RESERVED}
            assert len(ledger.unsettled()) == 20
    finally:
        wrong.close()


def test_entries_of_another_gateway_are_left_alone(
    tmp_path: Path, gateway: SandboxGateway, server: SandboxServer
) -> None:
    path = tmp_path / "ledger.sqlite3"
    other = SandboxServer().start()
    through_other = gateway_to(other.url)
    try:
        theirs = crashed_run(path, through_other, 3, arrive=2)
        with Ledger.open(path) as ledger:
            report = reconcile(ledger, gateway, clock=clock)
            assert report.settled == 0 and {e.send_id for e in report.elsewhere} == set(theirs)
            assert {e.state for e in ledger.unsettled()} == {State.RESERVED}
            [warning] = report.elsewhere_warnings()
            assert warning.startswith(f"前回 3 件は別の送信先（sandbox {other.url}）で結果不明です")
            mine = reconcile(ledger, through_other, clock=clock)
            assert len(mine.found) == 2 and len(mine.not_sent) == 1
    finally:
        through_other.close()
        other.stop()


def test_entries_from_before_the_identity_are_settled_only_when_found(
    tmp_path: Path, gateway: SandboxGateway
) -> None:
    """A v1 ledger's entry names the provider only: any sandbox could have taken it. A send id
    is random, so the sandbox that finds it took it; a miss proves nothing and settles nothing."""
    path = tmp_path / "ledger.sqlite3"
    ids = []
    with Ledger.open(path) as ledger:
        for i in range(2):
            sid = uuid.uuid4().hex
            ledger.reserve(
                ledger.identity(num(i), BODY), send_id=sid, provider="sandbox", segments=1, at=T
            )
            ids.append(sid)
        gateway.send(OutgoingMessage(ids[0], num(0), BODY))
    with Ledger.open(path) as ledger:
        report = reconcile(ledger, gateway, clock=clock)
        assert [e.send_id for e in report.found] == [ids[0]]
        assert [e.send_id for e in report.elsewhere] == [ids[1]] and report.not_sent == ()
        [left] = ledger.unsettled()
        assert left.send_id == ids[1] and left.state is State.RESERVED
        assert "旧版の台帳" in report.elsewhere_warnings()[0]
        # Another provider's old entry is not even looked up.
        karaden = GatewayIdentity("karaden", "https://api.karaden.test", "tenant-1")
        assert karaden.label == "karaden https://api.karaden.test（tenant-1）"


def test_identity_never_keeps_a_secret_of_the_url() -> None:
    identity = GatewayIdentity("sandbox", "HTTPS://user:secret@Example.LG.jp:8443/api/?token=x")
    assert identity.base_url == "https://example.lg.jp:8443/api"
    assert identity == GatewayIdentity("sandbox", "https://example.lg.jp:8443/api/")
    assert identity != GatewayIdentity("sandbox", "https://example.lg.jp:8444/api")


def test_an_earlier_send_of_the_same_text_never_settles_a_resend_that_was_lost(
    tmp_path: Path,
) -> None:
    """Twilio, found by listing: a resend (guard off) of a text Twilio took minutes ago times
    out before Twilio created it. The earlier message, listed since the reservation, is the
    ledger's record of the first send, never this one's."""
    once = DispatchSettings(concurrency=1, max_attempts=1)
    resend = DispatchSettings(concurrency=1, max_attempts=1, guard=None)
    with TwilioStub() as stub, Ledger.open(tmp_path / "l.sqlite3") as ledger:
        http = HttpSettings(base_url=stub.url, token=TOKEN, read_timeout_s=0.5)
        gw = TwilioGateway(http, TwilioSettings(ACCOUNT, "KUDEN"))
        [first] = dispatch([Outgoing(2, num(1), BODY, 1)], gw, ledger, settings=once)
        stub.script.append(HANG_BEFORE_CREATE)
        [again] = dispatch([Outgoing(2, num(1), BODY, 1)], gw, ledger, settings=resend)
        assert (first.code, again.code) == (ResultCode.ACCEPTED, ResultCode.UNKNOWN)
        report = reconcile(ledger, gw)
        assert not report.found and [e.state for e in report.unknown] == [State.UNKNOWN]
        stub.create("+81" + num(1)[1:], BODY)  # the resend did arrive after all: now found
        [found] = reconcile(ledger, gw).found
        assert found.send_id == report.unknown[0].send_id
        assert found.message_id == stub.messages[1]["sid"]
        gw.close()
