"""kuden_xl.gateways.http: the transport classification, over real sockets."""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from email.utils import formatdate

import pytest
import requests

from kuden_xl.errors import GatewayAuthError, GatewayUnavailable
from kuden_xl.gateways.base import Attempt
from kuden_xl.gateways.http import (
    HttpClient,
    HttpSettings,
    classify_transport,
    expect_ok,
    make_session,
)
from kuden_xl.sandbox import SandboxServer


class RawServer:
    """A one-trick TCP server: reads each request, then answers ``reply`` or, if None, hangs
    (``hang=True``) or closes without a word."""

    def __init__(self, reply: bytes | None = None, *, hang: bool = False) -> None:
        self.reply = reply
        self.hang = hang
        self.requests = 0
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._listener.getsockname()[1]}"

    def _run(self) -> None:
        self._listener.settimeout(0.05)
        while not self._stop.is_set():
            try:
                conn, _ = self._listener.accept()
            except OSError:
                continue
            with conn:
                conn.settimeout(5)
                data = b""
                while b"\r\n\r\n" not in data:
                    chunk = conn.recv(65536)
                    if not chunk:
                        break
                    data += chunk
                self.requests += 1
                if self.reply is not None:
                    conn.sendall(self.reply)
                elif self.hang:
                    self._stop.wait(2)

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        self._listener.close()


@pytest.fixture
def raw() -> Iterator[list[RawServer]]:
    servers: list[RawServer] = []
    yield servers
    for server in servers:
        server.close()


def attempt_at(url: str, **kw: object) -> requests.Response | requests.RequestException:
    client = HttpClient(HttpSettings(url, "t", connect_timeout_s=2.0, read_timeout_s=0.3, **kw))  # type: ignore[arg-type]
    try:
        return client.request("POST", "/v1/messages", json={"to": "x"})
    except requests.RequestException as exc:
        return exc
    finally:
        client.close()


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def answer(status: str, *headers: str) -> bytes:
    head = [f"HTTP/1.1 {status}", "Content-Length: 2", "Content-Type: application/json", *headers]
    return ("\r\n".join(head) + "\r\n\r\n{}").encode()


def test_connection_refused_is_not_processed() -> None:
    outcome = attempt_at(f"http://127.0.0.1:{closed_port()}")

    receipt = classify_transport("s1", outcome)

    assert isinstance(outcome, requests.ConnectionError)
    assert receipt is not None and receipt.attempt is Attempt.NOT_PROCESSED
    assert receipt.send_id == "s1"


def test_connection_closed_after_the_request_is_maybe_processed(raw: list[RawServer]) -> None:
    server = RawServer()
    raw.append(server)

    outcome = attempt_at(server.url)
    receipt = classify_transport("s1", outcome)

    assert server.requests == 1  # the request did arrive
    assert isinstance(outcome, requests.ConnectionError)
    assert receipt is not None and receipt.attempt is Attempt.MAYBE_PROCESSED


def test_read_timeout_is_maybe_processed(raw: list[RawServer]) -> None:
    server = RawServer(hang=True)
    raw.append(server)

    outcome = attempt_at(server.url)
    receipt = classify_transport("s1", outcome)

    assert isinstance(outcome, requests.ReadTimeout)
    assert receipt is not None and receipt.attempt is Attempt.MAYBE_PROCESSED


def test_an_earlier_refusal_being_handled_does_not_excuse_a_timeout(
    raw: list[RawServer],
) -> None:
    server = RawServer(hang=True)
    raw.append(server)
    try:
        requests.get(f"http://127.0.0.1:{closed_port()}", timeout=2)
    except requests.ConnectionError:
        # Retrying inside the handler: the new exception's __context__ is the refusal.
        outcome = attempt_at(server.url)
    receipt = classify_transport("s1", outcome)

    assert receipt is not None and receipt.attempt is Attempt.MAYBE_PROCESSED


def test_unreachable_proxy_stops_with_a_proxy_message() -> None:
    outcome = attempt_at(
        "http://gateway.example.invalid", proxy=f"http://127.0.0.1:{closed_port()}"
    )

    assert isinstance(outcome, requests.exceptions.ProxyError)
    with pytest.raises(GatewayUnavailable, match="KUDEN_XL_PROXY"):
        classify_transport("s1", outcome)


def test_429_is_not_processed_with_retry_after(raw: list[RawServer]) -> None:
    in_two_minutes = formatdate(time.time() + 120, usegmt=True)
    seconds = RawServer(answer("429 Too Many Requests", "Retry-After: 7"))
    date = RawServer(answer("429 Too Many Requests", f"Retry-After: {in_two_minutes}"))
    raw += [seconds, date]

    by_seconds = classify_transport("s1", attempt_at(seconds.url))
    by_date = classify_transport("s1", attempt_at(date.url))

    assert by_seconds is not None and by_seconds.attempt is Attempt.NOT_PROCESSED
    assert by_seconds.retry_after_s == 7.0
    assert by_date is not None and by_date.retry_after_s is not None
    assert 100 < by_date.retry_after_s <= 120


def test_5xx_is_maybe_processed_unless_the_provider_says_otherwise(
    raw: list[RawServer],
) -> None:
    server = RawServer(answer("503 Service Unavailable"))
    raw.append(server)
    outcome = attempt_at(server.url)

    default = classify_transport("s1", outcome)
    documented = classify_transport("s1", outcome, server_error=Attempt.NOT_PROCESSED)

    assert default is not None and default.attempt is Attempt.MAYBE_PROCESSED
    assert documented is not None and documented.attempt is Attempt.NOT_PROCESSED


@pytest.mark.parametrize("status", ["401 Unauthorized", "403 Forbidden"])
def test_auth_refusal_raises(raw: list[RawServer], status: str) -> None:
    server = RawServer(answer(status))
    raw.append(server)

    with pytest.raises(GatewayAuthError, match="認証"):
        classify_transport("s1", attempt_at(server.url))


def test_other_answers_are_left_to_the_provider(raw: list[RawServer]) -> None:
    server = RawServer(answer("422 Unprocessable Entity"))
    raw.append(server)

    assert classify_transport("s1", attempt_at(server.url)) is None


def test_expect_ok_raises_instead_of_answering(raw: list[RawServer]) -> None:
    not_found = RawServer(answer("404 Not Found"))
    raw.append(not_found)

    with pytest.raises(GatewayUnavailable):
        expect_ok(attempt_at(f"http://127.0.0.1:{closed_port()}"))
    with pytest.raises(GatewayUnavailable, match="404"):
        expect_ok(attempt_at(not_found.url))


def test_tls_failure_raises_unavailable_naming_the_ca_bundle(server: SandboxServer) -> None:
    # The sandbox closes a connection that opens with a TLS ClientHello.
    outcome = attempt_at(server.url.replace("http:", "https:"))

    assert isinstance(outcome, requests.exceptions.SSLError)
    with pytest.raises(GatewayUnavailable, match="ca_bundle"):
        classify_transport("s1", outcome)


def test_invalid_url_raises_unavailable() -> None:
    with pytest.raises(GatewayUnavailable, match="接続先"):
        classify_transport("s1", attempt_at("http://"))


def test_settings_hide_the_token_and_size_the_pool() -> None:
    settings = HttpSettings("https://api.example.jp", "secret-token", pool_size=8)
    assert "secret-token" not in repr(settings)
    assert settings.read_timeout_s < 3.0  # below the sandbox's default slow answer

    session = make_session(settings)
    try:
        adapter = session.get_adapter("https://api.example.jp/")
        assert adapter._pool_maxsize == 8  # type: ignore[attr-defined]
        assert adapter.max_retries.total == 0  # type: ignore[attr-defined]
        assert session.trust_env  # a real provider honours the LGWAN proxy environment
    finally:
        session.close()
    loopback = make_session(HttpSettings("http://127.0.0.1:1", "t", proxy="http://p:8080"))
    try:
        assert not loopback.trust_env
        assert loopback.proxies == {"http": "http://p:8080", "https": "http://p:8080"}
    finally:
        loopback.close()


def test_importing_the_package_and_the_sandbox_does_not_import_requests() -> None:
    code = (
        "import sys, kuden_xl, kuden_xl.gateways.base, kuden_xl.sandbox\n"
        "assert 'requests' not in sys.modules, 'requests imported'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=30)
