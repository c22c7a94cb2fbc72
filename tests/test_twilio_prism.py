"""Every request the Twilio module sends, validated by Prism against Twilio's own OpenAPI document
(``shared/specs/twilio-api-v2010-messages.json``): ``prism proxy --errors`` forwards to the
scripted Twilio on 127.0.0.1 and answers 422 with a ``✖`` line for any request outside the
document, which fails the test.

Prism is pinned in ``tests/providers/node/package.json`` (``npm ci --prefix tests/providers/node``);
without it these tests are skipped outside CI and fail in CI. The helper lives here, apart
from the Karaden / AOS harness, so the two merge cleanly.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import requests
from providers.scripted import spec
from twilio_stub import ACCOUNT, HANG_AFTER_CREATE, SERVICE, TOKEN, TwilioStub, error

from kuden_xl.dispatch import DispatchSettings, Outgoing, dispatch
from kuden_xl.gateways.base import Attempt, OutgoingMessage
from kuden_xl.gateways.http import HttpSettings
from kuden_xl.gateways.twilio import TwilioGateway, TwilioSettings
from kuden_xl.ledger import Ledger
from kuden_xl.reconcile import reconcile
from kuden_xl.schema import Delivery

NODE_DIR = Path(__file__).parent / "providers" / "node"
PRISM = NODE_DIR / "node_modules" / ".bin" / "prism"
SPEC_NAME = "twilio-api-v2010-messages.json"

if not (PRISM.is_file() and shutil.which("node")):
    if os.environ.get("CI") == "true":
        raise RuntimeError("Prism is not installed: npm ci --prefix tests/providers/node")
    pytest.skip("Prism (node) is not installed", allow_module_level=True)


def spec_path() -> Path:
    return spec(SPEC_NAME)


class TwilioPrism:
    """``prism proxy SPEC UPSTREAM --errors`` on a free port of 127.0.0.1; output to a file."""

    def __init__(self, upstream: str) -> None:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = int(sock.getsockname()[1])
        self.url = f"http://127.0.0.1:{self.port}"
        self._sentinels = 0
        self._log = tempfile.NamedTemporaryFile(  # noqa: SIM115 - closed in stop()
            "w+", encoding="utf-8", prefix="prism-twilio-", suffix=".log"
        )
        self.proc = subprocess.Popen(
            [str(PRISM), "proxy", str(spec_path()), upstream, "--errors"]
            + ["--host", "127.0.0.1", "--port", str(self.port)],
            stdout=self._log,
            stderr=subprocess.STDOUT,
            cwd=NODE_DIR,
        )
        deadline = time.monotonic() + 60  # a bound on start-up, not a timing assumption
        while True:
            if self.proc.poll() is not None:
                raise AssertionError(f"prism exited: {self.output()}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    return
            except OSError:
                if time.monotonic() > deadline:
                    raise AssertionError(f"prism did not start: {self.output()}") from None
                time.sleep(0.1)

    def output(self) -> str:
        self._log.flush()
        return Path(self._log.name).read_text(encoding="utf-8")

    def violations(self) -> list[str]:
        """Prism's ``✖`` lines so far. Its log is written asynchronously, so a sentinel request
        goes last and is waited for: the lines of every earlier request are in by then."""
        self._sentinels += 1
        marker = f"/kuden-sentinel-{self._sentinels}"
        requests.get(self.url + marker, timeout=10)
        deadline = time.monotonic() + 30  # a bound, not a timing assumption
        while marker not in self.output():
            if time.monotonic() > deadline:
                raise AssertionError(f"prism never logged {marker}: {self.output()}")
            time.sleep(0.05)
        lines = self.output().splitlines()
        return [line for line in lines if "✖" in line and marker not in line]

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self._log.close()


@pytest.fixture
def prism() -> Iterator[tuple[TwilioPrism, TwilioStub]]:
    with TwilioStub() as stub:
        running = TwilioPrism(stub.url)
        try:
            yield running, stub
        finally:
            running.stop()


def gateway(url: str, *, service: bool) -> TwilioGateway:
    settings = TwilioSettings(ACCOUNT, None if service else "KUDEN", SERVICE if service else None)
    return TwilioGateway(HttpSettings(base_url=url, token=TOKEN, read_timeout_s=5), settings)


def test_every_twilio_request_validates(
    prism: tuple[TwilioPrism, TwilioStub], tmp_path: Path
) -> None:
    running, stub = prism
    plain, scheduling = gateway(running.url, service=False), gateway(running.url, service=True)
    now = plain.send(OutgoingMessage("t-1", "09012340001", "国保料のお知らせ"))
    at = datetime.now(timezone.utc) + timedelta(days=2)
    later = scheduling.send(OutgoingMessage("t-2", "08012340002", "予約の本文", at))
    assert (now.attempt, later.attempt) == (Attempt.ACCEPTED, Attempt.SCHEDULED)
    stub.script.append(error(400, 21614))
    assert plain.send(OutgoingMessage("t-3", "07012340003", "本文")).attempt is Attempt.REJECTED
    assert now.message_id is not None
    stub.set_status(now.message_id, "undelivered", 30003)
    [status] = plain.status([now.message_id])
    assert (status.delivery, status.reason) == (Delivery.UNDELIVERED, "圏外・電源OFF")
    plain.check_connection()
    # Reconciliation lists messages since the reservation (and follows next_page_uri).
    stub.script.append(HANG_AFTER_CREATE)
    timing_out = TwilioGateway(
        HttpSettings(base_url=running.url, token=TOKEN, read_timeout_s=1.0),
        TwilioSettings(ACCOUNT, "KUDEN"),
    )
    with Ledger.open(tmp_path / "l.sqlite3") as ledger:
        once = DispatchSettings(max_attempts=1)
        dispatch([Outgoing(2, "09012340004", "照合の本文", 1)], timing_out, ledger, settings=once)
        assert len(reconcile(ledger, timing_out).found) == 1
    for gw in (plain, scheduling, timing_out):
        gw.close()
    requests_seen = {(m, p) for m, p, _, _ in stub.requests}
    assert len(requests_seen) == 4  # create, fetch, account, list: every call the module makes
    assert running.violations() == [], running.output()


def test_prism_refuses_a_request_outside_the_document(
    prism: tuple[TwilioPrism, TwilioStub],
) -> None:
    """The control: a create without ``To`` is flagged, so a clean log above means something."""
    running, stub = prism
    answer = requests.post(
        f"{running.url}/2010-04-01/Accounts/{ACCOUNT}/Messages.json",
        data={"Body": "x", "From": "KUDEN"},
        auth=(ACCOUNT, TOKEN),
        timeout=10,
    )
    assert answer.status_code == 422 and running.violations() != []
    assert stub.messages == []
