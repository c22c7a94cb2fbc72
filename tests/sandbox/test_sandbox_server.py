"""The sandbox's HTTP API, spoken directly (no gateway): contract, validation, speed."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
import requests

from kuden_xl.sandbox import SandboxServer

from .sandbox_helpers import AUTH, accepted, number


def post(
    http: requests.Session, server: SandboxServer, payload: object, key: str | None = "k-1"
) -> requests.Response:
    headers = dict(AUTH)
    if key is not None:
        headers["Idempotency-Key"] = key
    return http.post(server.url + "/v1/messages", json=payload, headers=headers, timeout=5)


def test_accepts_and_replays_the_same_answer(server: SandboxServer, http: requests.Session) -> None:
    first = post(http, server, {"to": number(5678), "body": "あ" * 71})
    again = post(http, server, {"to": number(5678), "body": "あ" * 71})

    assert first.status_code == again.status_code == 201
    assert first.json() == again.json()
    assert first.json()["status"] == "accepted"
    assert first.json()["segments"] == 2  # 71 characters: two parts of 67
    assert first.json()["id"].startswith("sbx-")
    assert again.headers["Idempotent-Replayed"] == "true"
    assert [m["idempotency_key"] for m in accepted(server)] == ["k-1"]


def test_same_key_with_another_body_is_422(server: SandboxServer, http: requests.Session) -> None:
    post(http, server, {"to": number(5678), "body": "一通目"})
    answer = post(http, server, {"to": number(5678), "body": "別の本文"})

    assert answer.status_code == 422
    assert answer.json()["error"] == "idempotency_key_mismatch"
    assert len(accepted(server)) == 1


@pytest.mark.parametrize(
    ("payload", "error"),
    [
        ({"to": "0312345678", "body": "x"}, "invalid_to"),  # landline, 10 digits
        ({"to": "09112345678", "body": "x"}, "invalid_to"),
        ({"to": number(5678), "body": ""}, "invalid_body"),
        ({"to": number(5678), "body": "あ" * 661}, "body_too_long"),
        (
            {"to": number(5678), "body": "x", "scheduled_at": "2026-11-27T09:00:00"},
            "invalid_scheduled_at",
        ),
        ([1, 2], "invalid_json"),
    ],
)
def test_validation_answers_400_and_records_nothing(
    server: SandboxServer, http: requests.Session, payload: object, error: str
) -> None:
    answer = post(http, server, payload)

    assert answer.status_code == 400
    assert answer.json()["error"] == error
    assert answer.json()["reason"]  # Japanese text for 結果
    assert accepted(server) == []


def test_limits_are_inclusive(server: SandboxServer, http: requests.Session) -> None:
    assert post(http, server, {"to": number(5678, "020"), "body": "あ" * 660}).status_code == 201
    assert (
        post(http, server, {"to": number(5679, "060"), "body": "x"}, key="k-2").status_code == 201
    )


def test_idempotency_key_is_required(server: SandboxServer, http: requests.Session) -> None:
    answer = post(http, server, {"to": number(5678), "body": "x"}, key=None)

    assert answer.status_code == 400
    assert answer.json()["error"] == "missing_idempotency_key"


def test_v1_needs_the_token_but_sandbox_endpoints_do_not(
    server: SandboxServer, http: requests.Session
) -> None:
    for headers in ({}, {"Authorization": "Bearer wrong"}):
        answer = http.post(
            server.url + "/v1/messages",
            json={"to": number(5678), "body": "x"},
            headers={**headers, "Idempotency-Key": "k"},
            timeout=5,
        )
        assert answer.status_code == 401
    assert http.get(server.url + "/v1/messages/sbx-1", timeout=5).status_code == 401
    garbage = http.post(server.url + "/v1/messages", data=b"{not json", timeout=5)
    assert garbage.status_code == 401  # the token is checked before the body is judged
    assert http.get(server.url + "/_sandbox/messages", timeout=5).status_code == 200


def test_message_views_and_lookup(server: SandboxServer, http: requests.Session) -> None:
    message_id = post(http, server, {"to": number(5602), "body": "x"}).json()["id"]

    one = http.get(f"{server.url}/v1/messages/{message_id}", headers=AUTH, timeout=5).json()
    assert (one["status"], one["reason"]) == ("undelivered", "圏外")
    missing = http.get(f"{server.url}/v1/messages/sbx-nope", headers=AUTH, timeout=5)
    assert missing.status_code == 404

    def lookup(key: str) -> list[dict[str, Any]]:
        answer = http.get(
            server.url + "/v1/messages", params={"idempotency_key": key}, headers=AUTH, timeout=5
        )
        result: list[dict[str, Any]] = answer.json()["messages"]
        return result

    assert [m["id"] for m in lookup("k-1")] == [message_id]
    assert lookup("k-unknown") == []


def test_status_batch_keeps_order_and_marks_unknown_ids(
    server: SandboxServer, http: requests.Session
) -> None:
    a = post(http, server, {"to": number(5678), "body": "x"}, key="a").json()["id"]
    b = post(http, server, {"to": number(5602), "body": "x"}, key="b").json()["id"]

    answer = http.post(
        server.url + "/v1/messages/status", json={"ids": [b, "sbx-x", a]}, headers=AUTH, timeout=5
    )
    statuses = [(m["id"], m["status"]) for m in answer.json()["messages"]]
    assert statuses == [(b, "undelivered"), ("sbx-x", "unknown"), (a, "delivered")]

    too_many = http.post(
        server.url + "/v1/messages/status",
        json={"ids": [f"sbx-{i}" for i in range(1001)]},
        headers=AUTH,
        timeout=5,
    )
    assert too_many.status_code == 400


def test_scheduled_message_stays_scheduled_until_its_time(
    server: SandboxServer, http: requests.Session
) -> None:
    later = (datetime.now(timezone.utc) + timedelta(hours=1)).isoformat()
    answer = post(http, server, {"to": number(5678), "body": "x", "scheduled_at": later})

    assert answer.json()["status"] == "scheduled"
    view = http.get(f"{server.url}/v1/messages/{answer.json()['id']}", headers=AUTH, timeout=5)
    assert view.json()["status"] == "scheduled"
    assert accepted(server)[0]["scheduled_at"] == datetime.fromisoformat(later).isoformat()

    earlier = (datetime.now(timezone.utc) - timedelta(minutes=1)).isoformat()
    past = post(http, server, {"to": number(5679), "body": "x", "scheduled_at": earlier}, "k-2")
    assert past.json()["status"] == "accepted"


def test_reset_forgets_messages_and_fault_marks(
    server: SandboxServer, http: requests.Session
) -> None:
    assert post(http, server, {"to": number(5603), "body": "x"}).status_code == 429
    assert post(http, server, {"to": number(5603), "body": "x"}).status_code == 201

    assert http.post(server.url + "/_sandbox/reset", timeout=5).status_code == 200

    assert accepted(server) == []
    assert post(http, server, {"to": number(5603), "body": "x"}).status_code == 429


def test_unknown_route_and_method(server: SandboxServer, http: requests.Session) -> None:
    assert http.get(server.url + "/v2/anything", headers=AUTH, timeout=5).status_code == 404
    assert http.delete(server.url + "/_sandbox/messages", timeout=5).status_code == 405


def test_concurrent_same_key_records_one_message(
    server: SandboxServer, http: requests.Session
) -> None:
    def send(_: int) -> tuple[int, str]:
        with requests.Session() as own:
            answer = post(own, server, {"to": number(5678), "body": "同時"}, key="same")
            return answer.status_code, answer.json()["id"]

    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(send, range(8)))

    assert {code for code, _ in answers} == {201}
    assert len({message_id for _, message_id in answers}) == 1
    assert len(accepted(server)) == 1


def test_keep_alive_has_no_delayed_ack_stall(server: SandboxServer, http: requests.Session) -> None:
    started = time.perf_counter()
    for i in range(200):
        answer = post(http, server, {"to": number(5678), "body": "x"}, key=f"k-{i}")
        assert answer.status_code == 201
    took = time.perf_counter() - started

    # A 40 ms stall per request would take 8 s; a catch, not a benchmark.
    assert took < 2.0, f"200 keep-alive POSTs took {took:.2f} s"
    assert server.connections_accepted == 1  # all through one kept-alive connection


def test_latency_is_applied_per_request_in_parallel(
    make_server: Callable[..., SandboxServer],
) -> None:
    server = make_server(latency_ms=200)

    def get(_: int) -> float:
        started = time.perf_counter()
        with requests.Session() as own:
            answer = own.get(server.url + "/v1/messages/sbx-x", headers=AUTH, timeout=5)
            assert answer.status_code == 404
        return time.perf_counter() - started

    started = time.perf_counter()
    with ThreadPoolExecutor(8) as pool:
        durations = list(pool.map(get, range(8)))
    total = time.perf_counter() - started

    assert min(durations) >= 0.2
    assert total < 1.2  # 8 × 200 ms would be 1.6 s if requests were serialised


def test_tls_client_on_the_plain_port_fails_fast(server: SandboxServer) -> None:
    started = time.perf_counter()
    with pytest.raises(requests.exceptions.SSLError):
        requests.get(server.url.replace("http://", "https://"), timeout=5)
    assert time.perf_counter() - started < 2.0


def test_stop_releases_idle_keep_alive_connections(
    make_server: Callable[..., SandboxServer],
) -> None:
    server = make_server()
    idle = socket.create_connection(("127.0.0.1", server.port))
    try:
        idle.sendall(b"GET /_sandbox/messages HTTP/1.1\r\nHost: x\r\n\r\n")
        assert idle.recv(4096).startswith(b"HTTP/1.1 200 OK")  # accepted, now idle
        started = time.perf_counter()
        server.stop()
        assert time.perf_counter() - started < 1.0
        assert idle.recv(1) == b""  # the server closed its end
    finally:
        idle.close()
