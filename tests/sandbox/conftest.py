"""Fixtures for the sandbox tests: real servers on 127.0.0.1, stopped at teardown."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests

from kuden_xl.gateways.sandbox import SandboxGateway, settings_for
from kuden_xl.sandbox import SandboxServer

from .sandbox_helpers import READ_TIMEOUT_S, SLOW_S


@pytest.fixture
def make_server() -> Iterator[Callable[..., SandboxServer]]:
    servers: list[SandboxServer] = []

    def make(**kw: Any) -> SandboxServer:
        kw.setdefault("slow_s", SLOW_S)
        server = SandboxServer(**kw).start()
        servers.append(server)
        return server

    yield make
    for server in servers:
        server.stop()


@pytest.fixture
def server(make_server: Callable[..., SandboxServer]) -> SandboxServer:
    return make_server()


@pytest.fixture
def make_gateway() -> Iterator[Callable[..., SandboxGateway]]:
    gateways: list[SandboxGateway] = []

    def make(server: SandboxServer, **kw: Any) -> SandboxGateway:
        kw.setdefault("read_timeout_s", READ_TIMEOUT_S)
        kw.setdefault("connect_timeout_s", 2.0)
        gateway = SandboxGateway(settings_for(server, **kw))
        gateways.append(gateway)
        return gateway

    yield make
    for gateway in gateways:
        gateway.close()


@pytest.fixture
def gateway(server: SandboxServer, make_gateway: Callable[..., SandboxGateway]) -> SandboxGateway:
    return make_gateway(server)


@pytest.fixture
def http() -> Iterator[requests.Session]:
    with requests.Session() as session:
        yield session
