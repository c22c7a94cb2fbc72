"""SandboxGateway against a real sandbox: classification of every fault, exactly-once, status."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from kuden_xl.errors import GatewayAuthError, GatewayUnavailable
from kuden_xl.gateways.base import Attempt, Gateway
from kuden_xl.gateways.http import HttpSettings
from kuden_xl.gateways.sandbox import SandboxGateway, delivery_of, settings_for, start_embedded
from kuden_xl.sandbox import SandboxServer
from kuden_xl.schema import Delivery

from .sandbox_helpers import accepted, number, outgoing


def test_implements_the_gateway_protocol(gateway: SandboxGateway) -> None:
    assert isinstance(gateway, Gateway)
    assert gateway.name == "sandbox"
    caps = gateway.capabilities
    assert (caps.max_length, caps.can_schedule, caps.idempotent, caps.lookup_by_send_id) == (
        660,
        True,
        True,
        True,
    )


def test_send_twice_with_one_send_id_records_one_message(
    server: SandboxServer, gateway: SandboxGateway
) -> None:
    message = outgoing(number(5678))

    first = gateway.send(message)
    second = gateway.send(message)

    assert first.attempt is second.attempt is Attempt.ACCEPTED
    assert first.message_id == second.message_id is not None
    assert [m["idempotency_key"] for m in accepted(server)] == [message.send_id]


def test_concurrent_sends_of_one_message_record_it_once(
    server: SandboxServer, gateway: SandboxGateway
) -> None:
    message = outgoing(number(5678))

    with ThreadPoolExecutor(8) as pool:
        receipts = list(pool.map(lambda _: gateway.send(message), range(8)))

    assert {r.attempt for r in receipts} == {Attempt.ACCEPTED}
    assert len({r.message_id for r in receipts}) == 1
    assert len(accepted(server)) == 1


@pytest.mark.parametrize(
    ("last4", "first_attempt"),
    [
        (5603, Attempt.NOT_PROCESSED),  # 429
        (5604, Attempt.NOT_PROCESSED),  # 500: the sandbox's 5xx never records
        (5605, Attempt.MAYBE_PROCESSED),  # recorded, answer too late: timeout
        (5606, Attempt.MAYBE_PROCESSED),  # connection reset after the request was sent
    ],
)
def test_first_attempt_fault_then_retry_gives_exactly_one_message(
    server: SandboxServer, gateway: SandboxGateway, last4: int, first_attempt: Attempt
) -> None:
    message = outgoing(number(last4))

    first = gateway.send(message)
    second = gateway.send(message)

    assert first.attempt is first_attempt
    assert first.message_id is None
    assert first.reason
    assert second.attempt is Attempt.ACCEPTED
    assert [m["idempotency_key"] for m in accepted(server)] == [message.send_id]


def test_throttle_carries_retry_after(gateway: SandboxGateway) -> None:
    receipt = gateway.send(outgoing(number(5603)))

    assert receipt.attempt is Attempt.NOT_PROCESSED
    assert receipt.retry_after_s == 0.0


def test_slow_answer_was_recorded_before_the_timeout(
    server: SandboxServer, gateway: SandboxGateway
) -> None:
    message = outgoing(number(5605))

    assert gateway.send(message).attempt is Attempt.MAYBE_PROCESSED

    found = gateway.lookup(message.send_id)  # how dispatch reconciles an UNKNOWN
    assert found is not None and found.attempt is Attempt.ACCEPTED
    assert gateway.send(message).message_id == found.message_id


@pytest.mark.parametrize(
    ("last4", "fault"), [(5603, Attempt.NOT_PROCESSED), (5606, Attempt.MAYBE_PROCESSED)]
)
def test_first_attempt_fault_fires_once_under_concurrency(
    server: SandboxServer, gateway: SandboxGateway, last4: int, fault: Attempt
) -> None:
    message = outgoing(number(last4))

    with ThreadPoolExecutor(8) as pool:
        receipts = list(pool.map(lambda _: gateway.send(message), range(8)))

    attempts = sorted(r.attempt.value for r in receipts)
    assert attempts == sorted([fault.value] + [Attempt.ACCEPTED.value] * 7)
    assert len(accepted(server)) == 1


def test_unreachable_number_is_rejected_with_the_reason(
    server: SandboxServer, gateway: SandboxGateway
) -> None:
    message = outgoing(number(5601))

    for _ in range(2):  # not a first-attempt fault: refused every time
        receipt = gateway.send(message)
        assert receipt.attempt is Attempt.REJECTED
        assert receipt.reason == "圏外または存在しない番号"
    assert accepted(server) == []


def test_invalid_request_is_rejected_with_the_sandbox_text(gateway: SandboxGateway) -> None:
    receipt = gateway.send(outgoing("0312345678"))

    assert receipt.attempt is Attempt.REJECTED
    assert receipt.reason == "宛先番号の形式が不正です（11桁の携帯番号）"


def test_same_send_id_with_another_body_is_rejected(gateway: SandboxGateway) -> None:
    message = outgoing(number(5678))
    gateway.send(message)

    receipt = gateway.send(replace(message, body="別の本文"))

    assert receipt.attempt is Attempt.REJECTED


def test_scheduled_send(server: SandboxServer, gateway: SandboxGateway) -> None:
    later = datetime.now(timezone(timedelta(hours=9))) + timedelta(hours=2)
    receipt = gateway.send(replace(outgoing(number(5678)), scheduled_at=later))

    assert receipt.attempt is Attempt.SCHEDULED
    assert receipt.message_id is not None
    assert gateway.status([receipt.message_id])[0].delivery is Delivery.PENDING
    found = gateway.lookup(receipt.send_id)
    assert found is not None and found.attempt is Attempt.SCHEDULED


def test_lookup_by_send_id(gateway: SandboxGateway) -> None:
    receipt = gateway.send(outgoing(number(5678)))

    found = gateway.lookup(receipt.send_id)

    assert found is not None
    assert (found.attempt, found.message_id) == (Attempt.ACCEPTED, receipt.message_id)
    assert gateway.lookup("never-sent") is None


def test_status_maps_every_outcome(gateway: SandboxGateway) -> None:
    delivered = gateway.send(outgoing(number(5678))).message_id
    undelivered = gateway.send(outgoing(number(5602))).message_id
    assert delivered and undelivered

    statuses = gateway.status([delivered, "sbx-unknown", undelivered])

    assert [(s.message_id, s.delivery, s.reason) for s in statuses] == [
        (delivered, Delivery.DELIVERED, None),
        ("sbx-unknown", Delivery.UNKNOWN, None),
        (undelivered, Delivery.UNDELIVERED, "圏外"),
    ]


def test_status_is_pending_until_delivery(
    make_server: Callable[..., SandboxServer], make_gateway: Callable[..., SandboxGateway]
) -> None:
    gateway = make_gateway(make_server(deliver_after_s=0.5))
    message_id = gateway.send(outgoing(number(5678))).message_id
    assert message_id

    assert gateway.status([message_id])[0].delivery is Delivery.PENDING
    deadline = time.monotonic() + 5
    while gateway.status([message_id])[0].delivery is Delivery.PENDING:
        assert time.monotonic() < deadline
        time.sleep(0.1)
    assert gateway.status([message_id])[0].delivery is Delivery.DELIVERED


def test_status_batches_more_than_the_server_limit(gateway: SandboxGateway) -> None:
    message_id = gateway.send(outgoing(number(5678))).message_id
    assert message_id
    ids = [f"sbx-{i}" for i in range(1500)] + [message_id]

    statuses = gateway.status(ids)

    assert [s.message_id for s in statuses] == ids
    assert statuses[-1].delivery is Delivery.DELIVERED
    assert {s.delivery for s in statuses[:-1]} == {Delivery.UNKNOWN}


def test_delivery_mapping_is_total() -> None:
    assert delivery_of("rejected") is Delivery.UNDELIVERED
    assert delivery_of("accepted") is Delivery.PENDING
    assert delivery_of(None) is Delivery.UNKNOWN
    assert delivery_of("something-new") is Delivery.UNKNOWN


def test_wrong_token_raises_auth_error_everywhere(server: SandboxServer) -> None:
    gateway = SandboxGateway(HttpSettings(server.url, "wrong-token"))
    try:
        with pytest.raises(GatewayAuthError, match="APIトークン"):
            gateway.send(outgoing(number(5678)))
        with pytest.raises(GatewayAuthError):
            gateway.status(["sbx-1"])
        with pytest.raises(GatewayAuthError):
            gateway.lookup("k")
    finally:
        gateway.close()
    assert accepted(server) == []


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_connection_refused_is_not_processed_and_queries_raise() -> None:
    gateway = SandboxGateway(HttpSettings(f"http://127.0.0.1:{_closed_port()}", "t"))
    try:
        receipt = gateway.send(outgoing(number(5678)))
        assert receipt.attempt is Attempt.NOT_PROCESSED
        # A failed lookup must not read as "never accepted" (that would invite a resend).
        with pytest.raises(GatewayUnavailable):
            gateway.lookup("k")
        with pytest.raises(GatewayUnavailable):
            gateway.status(["sbx-1"])
    finally:
        gateway.close()


def test_tls_failure_points_at_the_ca_bundle_setting(server: SandboxServer) -> None:
    gateway = SandboxGateway(HttpSettings(server.url.replace("http:", "https:"), "sandbox-token"))
    try:
        with pytest.raises(GatewayUnavailable, match="ca_bundle"):
            gateway.send(outgoing(number(5678)))
    finally:
        gateway.close()
    assert accepted(server) == []


def test_start_embedded_uses_a_free_port_and_the_state_file(tmp_path: Path) -> None:
    state = tmp_path / "sandbox.sqlite"
    first = start_embedded(state, slow_s=0.5)
    second = start_embedded(state)
    try:
        assert first.port != second.port
        gateway = SandboxGateway(settings_for(first))
        try:
            gateway.send(outgoing(number(5678)))
        finally:
            gateway.close()
        assert len(accepted(second)) == 1  # both serve the same state file
    finally:
        first.stop()
        second.stop()
