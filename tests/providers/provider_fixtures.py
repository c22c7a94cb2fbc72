"""Fixtures of the provider tests (imported by each test module: a second conftest.py would
shadow tests/conftest.py, which other modules import as ``conftest``)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fakes import AOS_CLIENT, AOS_SMS_CODE, AOS_TOKEN, SERVICE, TENANT
from scripted import Handler, ScriptedServer

NOW = "2026-11-27T10:00:00"


@pytest.fixture
def serve() -> Iterator[object]:
    """``serve(handler)`` starts a ScriptedServer on 127.0.0.1; all are stopped afterwards."""
    started: list[ScriptedServer] = []

    def start(handler: Handler) -> ScriptedServer:
        server = ScriptedServer(handler).start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture
def karaden_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Karaden configured only through the environment (base URL set by each test)."""
    monkeypatch.setenv("KUDEN_XL_NOW", NOW)
    monkeypatch.setenv("KUDEN_XL_PROVIDER", "karaden")
    monkeypatch.setenv("KUDEN_XL_TOKEN", "karaden-token")
    monkeypatch.setenv("KUDEN_XL_KARADEN_TENANT_ID", TENANT)
    monkeypatch.setenv("KUDEN_XL_KARADEN_SERVICE_ID", SERVICE)
    monkeypatch.setenv("KUDEN_XL_READ_TIMEOUT", "20")


@pytest.fixture
def aos_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KUDEN_XL_NOW", NOW)
    monkeypatch.setenv("KUDEN_XL_PROVIDER", "aos")
    monkeypatch.setenv("KUDEN_XL_TOKEN", AOS_TOKEN)
    monkeypatch.setenv("KUDEN_XL_AOS_CLIENT_ID", AOS_CLIENT)
    monkeypatch.setenv("KUDEN_XL_AOS_SMS_CODE", AOS_SMS_CODE)
    monkeypatch.setenv("KUDEN_XL_READ_TIMEOUT", "20")
