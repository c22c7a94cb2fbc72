"""Every request the Twilio module sends, validated by Prism against Twilio's own OpenAPI document
(``shared/specs/twilio-api-v2010-messages.json``): ``prism proxy --errors`` forwards to the
scripted Twilio on 127.0.0.1 and answers 422 with a ``✖`` line for any request outside the
document, which fails the test.

Prism is pinned in ``tests/providers/node/package.json`` (``npm ci --prefix tests/providers/node``);
without it these tests are skipped outside CI and fail in CI. Prism is run by the Karaden / AOS
harness's ``providers.scripted.Prism``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import requests
from providers.scripted import Prism, prism_available, spec
from twilio_stub import ACCOUNT, HANG_AFTER_CREATE, SERVICE, TOKEN, TwilioStub, error

from kuden_xl.dispatch import DispatchSettings, Outgoing, dispatch
from kuden_xl.gateways.base import Attempt, OutgoingMessage
from kuden_xl.gateways.http import HttpSettings
from kuden_xl.gateways.twilio import TwilioGateway, TwilioSettings
from kuden_xl.ledger import Ledger
from kuden_xl.reconcile import reconcile
from kuden_xl.schema import Delivery

SPEC_NAME = "twilio-api-v2010-messages.json"

if not prism_available():
    if os.environ.get("CI") == "true":
        raise RuntimeError("Prism is not installed: npm ci --prefix tests/providers/node")
    pytest.skip("Prism (node) is not installed", allow_module_level=True)


@pytest.fixture
def prism() -> Iterator[tuple[Prism, TwilioStub]]:
    with TwilioStub() as stub:
        running = Prism(spec(SPEC_NAME), stub.url)
        try:
            yield running, stub
        finally:
            running.stop()


def gateway(url: str, *, service: bool) -> TwilioGateway:
    settings = TwilioSettings(ACCOUNT, None if service else "KUDEN", SERVICE if service else None)
    return TwilioGateway(HttpSettings(base_url=url, token=TOKEN, read_timeout_s=5), settings)


def test_every_twilio_request_validates(prism: tuple[Prism, TwilioStub], tmp_path: Path) -> None:
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
    prism: tuple[Prism, TwilioStub],
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
