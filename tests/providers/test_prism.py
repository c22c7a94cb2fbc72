"""Every request the Karaden and AOS modules send, validated by Prism against the vendor's own
OpenAPI document (``shared/specs``): Prism proxies to the fake on 127.0.0.1 and refuses any
request that violates the document (422, a ``✖`` line), which fails the test.

Prism is installed by ``.ci/run`` (``tests/providers/node``, pinned); without node these tests
are skipped outside CI and fail in CI.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest
import requests
from fakes import TENANT, AosFake, KaradenFake
from provider_fixtures import aos_env, karaden_env  # fixtures
from scripted import Prism, ScriptedServer, prism_available, spec

from kuden_xl.clock import JST
from kuden_xl.gateways import aos, karaden
from kuden_xl.gateways.base import Attempt, OutgoingMessage
from kuden_xl.schema import Delivery

if not prism_available():
    if os.environ.get("CI") == "true":
        raise RuntimeError("Prism is not installed: .ci/run installs it (npm ci)")
    pytest.skip("Prism (node) is not installed", allow_module_level=True)

LATER = datetime(2026, 11, 28, 9, 0, tzinfo=JST)


def _prism(fake: Any, spec_name: str) -> Iterator[tuple[Prism, Any]]:
    server = ScriptedServer(fake).start()
    prism = Prism(spec(spec_name), server.url)
    try:
        yield prism, fake
    finally:
        prism.stop()
        server.stop()


@pytest.fixture
def karaden_prism() -> Iterator[tuple[Prism, KaradenFake]]:
    yield from _prism(KaradenFake(), "karaden-2024-03-01.yaml")


@pytest.fixture
def aos_prism() -> Iterator[tuple[Prism, AosFake]]:
    yield from _prism(AosFake(), "aos-zettai-reach-1.4.7.paths-only.json")


def assert_valid(prism: Prism) -> None:
    assert prism.violations() == [], prism.output()


@pytest.mark.usefixtures("karaden_env")
def test_every_karaden_request_validates(karaden_prism: tuple[Prism, KaradenFake]) -> None:
    prism, fake = karaden_prism
    gw = karaden.from_settings(prism.url)
    now = gw.send(OutgoingMessage("k-send-1", "09012340001", "国保料のお知らせ"))
    later = gw.send(OutgoingMessage("k-send-2", "08012340002", "予約の本文", LATER))
    assert (now.attempt, later.attempt) == (Attempt.ACCEPTED, Attempt.SCHEDULED)
    assert gw.lookup("k-send-1") == now
    assert gw.lookup("k-never") is None
    assert now.message_id is not None
    fake.set_delivery(now.message_id, "done", "received")
    (status,) = gw.status([now.message_id])
    assert status.delivery is Delivery.DELIVERED
    gw.close()
    assert_valid(prism)


@pytest.mark.usefixtures("aos_env")
def test_every_aos_request_validates(aos_prism: tuple[Prism, AosFake]) -> None:
    prism, fake = aos_prism
    gw = aos.from_settings(prism.url)
    now = gw.send(OutgoingMessage("a-send-1", "09012340001", "国保料のお知らせ"))
    later = gw.send(OutgoingMessage("a-send-2", "08012340002", "予約の本文", LATER))
    assert (now.attempt, later.attempt) == (Attempt.ACCEPTED, Attempt.SCHEDULED)
    again = gw.send(OutgoingMessage("a-send-1", "09012340001", "国保料のお知らせ"))
    assert again.attempt is Attempt.ACCEPTED  # the duplicate, looked up by clientTag
    assert gw.lookup("a-send-2") is not None and gw.lookup("a-never") is None
    fake.set_status("a-send-1", "3", "11834")
    assert gw.status(["a-send-1"])[0].reason == "SMS受信拒否設定"  # by clientTag
    by_date = gw.status([f"a-x{i}" for i in range(5)] + ["a-send-1"])  # by date
    assert by_date[-1].delivery is Delivery.UNDELIVERED
    gw.close()
    assert_valid(prism)


def test_prism_refuses_a_request_outside_the_document(
    karaden_prism: tuple[Prism, KaradenFake],
) -> None:
    """The control: a 10-digit ``to`` is flagged, so a clean log above means something."""
    prism, _ = karaden_prism
    answer = requests.post(
        f"{prism.url}/{TENANT}/messages",
        data={"service_id": "1", "to": "0901234000", "body": "x"},
        headers={"Authorization": "Bearer t", "Karaden-Version": "2024-03-01"},
        timeout=10,
    )
    assert answer.status_code == 422 and len(prism.violations()) == 1
