"""Every gateway error names its provider (as in the config) and the HTTP status of the answer
(None when there was none), on real failures: a real sandbox, the scripted providers and a
scripted Twilio on 127.0.0.1, a closed port."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fakes import AosFake, KaradenFake, aos, karaden_error
from provider_fixtures import aos_env, karaden_env, serve  # fixtures
from scripted import Reply
from twilio_stub import ACCOUNT, TOKEN, TwilioStub

from kuden_xl.dispatch import DispatchSettings, Outgoing, dispatch
from kuden_xl.errors import GatewayAuthError, GatewayError, GatewayQuotaError, GatewayUnavailable
from kuden_xl.gateways import aos as aos_gateway
from kuden_xl.gateways import karaden as karaden_gateway
from kuden_xl.gateways.base import OutgoingMessage
from kuden_xl.gateways.http import HttpSettings
from kuden_xl.gateways.sandbox import SandboxGateway
from kuden_xl.gateways.twilio import TwilioGateway, TwilioSettings
from kuden_xl.ledger import Ledger
from kuden_xl.sandbox import SandboxServer

SID = "SM" + "0123456789abcdef" * 2


def msg(send_id: str = "send-1") -> OutgoingMessage:
    return OutgoingMessage(send_id, "09012340001", "お知らせです")


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def fields(err: pytest.ExceptionInfo[GatewayError]) -> tuple[str | None, int | None]:
    return err.value.provider, err.value.status


# --- sandbox ----------------------------------------------------------------------------------


@pytest.fixture
def sandbox() -> Iterator[SandboxServer]:
    server = SandboxServer().start()
    yield server
    server.stop()


def sandbox_at(url: str, token: str = "sandbox-token") -> SandboxGateway:
    return SandboxGateway(HttpSettings(url, token, connect_timeout_s=2.0, read_timeout_s=2.0))


def test_sandbox_refused_token_names_the_sandbox_and_401(sandbox: SandboxServer) -> None:
    gateway = sandbox_at(sandbox.url, "wrong-token")
    try:
        with pytest.raises(GatewayAuthError) as sent:
            gateway.send(msg())
        with pytest.raises(GatewayAuthError) as looked_up:
            gateway.lookup("k")
    finally:
        gateway.close()
    assert fields(sent) == fields(looked_up) == ("sandbox", 401)


def test_sandbox_unreachable_or_without_tls_has_no_status(sandbox: SandboxServer) -> None:
    refused = sandbox_at(f"http://127.0.0.1:{closed_port()}")
    no_tls = sandbox_at(sandbox.url.replace("http:", "https:"), sandbox.token)
    try:
        with pytest.raises(GatewayUnavailable) as query:
            refused.status(["sbx-1"])
        with pytest.raises(GatewayUnavailable, match="ca_bundle") as tls:
            no_tls.send(msg())
    finally:
        refused.close()
        no_tls.close()
    assert fields(query) == fields(tls) == ("sandbox", None)


@pytest.mark.parametrize(
    ("reply", "error", "status"),
    [
        (Reply(503, {"error": "busy"}), GatewayUnavailable, 503),
        (Reply(404, None), GatewayUnavailable, 404),
        (Reply(200, {"messages": "none"}), GatewayUnavailable, 200),  # malformed
        (Reply(403, None), GatewayAuthError, 403),
    ],
)
def test_sandbox_query_failures_carry_the_answers_status(
    serve: Any, reply: Reply, error: type[GatewayError], status: int
) -> None:
    gateway = sandbox_at(serve(lambda seen: reply).url)
    try:
        with pytest.raises(error) as raised:
            gateway.lookup("k")
    finally:
        gateway.close()
    assert fields(raised) == ("sandbox", status)


# --- Karaden ----------------------------------------------------------------------------------


@pytest.mark.usefixtures("karaden_env")
@pytest.mark.parametrize(
    ("reply", "status"),
    [
        (Reply(401, karaden_error("unauthentication", "認証に失敗しました")), 401),
        (Reply(400, karaden_error("invalid_tenant", "テナントが不正です")), 400),
        (Reply(403, None), 403),
    ],
)
def test_karaden_refusals_name_karaden_and_the_status(
    serve: Any, reply: Reply, status: int
) -> None:
    fake = KaradenFake()
    fake.then("send", reply)
    with pytest.raises(GatewayAuthError) as raised:
        karaden_gateway.from_settings(serve(fake).url).send(msg())
    assert fields(raised) == ("karaden", status)


@pytest.mark.usefixtures("karaden_env")
def test_a_run_stopped_by_the_gateway_raises_the_error_with_its_fields(
    serve: Any, tmp_path: Path
) -> None:
    fake = KaradenFake()
    fake.then("send", Reply(401, karaden_error("unauthentication", "認証に失敗しました")))
    gateway = karaden_gateway.from_settings(serve(fake).url)
    outgoing = [Outgoing(r, f"0901234{r:04d}", "本文", 1) for r in range(2, 5)]
    with Ledger.open(tmp_path / "l.sqlite3") as ledger, pytest.raises(GatewayAuthError) as raised:
        dispatch(outgoing, gateway, ledger, settings=DispatchSettings(concurrency=1))
    assert fields(raised) == ("karaden", 401)


@pytest.mark.usefixtures("karaden_env")
def test_karaden_endpoint_not_found_is_404(serve: Any) -> None:
    fake = KaradenFake()
    fake.then("send", Reply(404, None))
    with pytest.raises(GatewayUnavailable) as raised:
        karaden_gateway.from_settings(serve(fake).url).send(msg())
    assert fields(raised) == ("karaden", 404)


@pytest.mark.usefixtures("karaden_env")
@pytest.mark.parametrize(
    ("reply", "status"),
    [(Reply(503, None), 503), (Reply(200, {"data": "none"}), 200)],
)
def test_karaden_failed_lookups_carry_the_status(serve: Any, reply: Reply, status: int) -> None:
    server = serve(lambda seen: reply)
    with pytest.raises(GatewayUnavailable) as raised:
        karaden_gateway.from_settings(server.url).lookup("send-1")
    assert fields(raised) == ("karaden", status)


@pytest.mark.usefixtures("karaden_env")
def test_karaden_unreachable_has_no_status() -> None:
    gateway = karaden_gateway.from_settings(f"http://127.0.0.1:{closed_port()}")
    with pytest.raises(GatewayUnavailable) as raised:
        gateway.check_connection()
    assert fields(raised) == ("karaden", None)


# --- AOS --------------------------------------------------------------------------------------


@pytest.mark.usefixtures("aos_env")
def test_aos_quota_and_refused_account_name_aos_and_its_http_200(serve: Any) -> None:
    fake = AosFake(quota=0)
    gateway = aos_gateway.from_settings(serve(fake).url)
    with pytest.raises(GatewayQuotaError) as quota:
        gateway.send(msg())
    fake.then("send", Reply(200, aos(110, "Invalid token.")))
    with pytest.raises(GatewayAuthError) as refused:
        gateway.send(msg("send-2"))
    fake.then("status", Reply(200, aos(110, "Invalid clientId.")))
    with pytest.raises(GatewayAuthError) as refused_query:
        gateway.check_connection()
    # AOS answers HTTP 200 and puts the outcome in responseCode: status is what HTTP said.
    assert fields(quota) == fields(refused) == fields(refused_query) == ("aos", 200)


@pytest.mark.usefixtures("aos_env")
@pytest.mark.parametrize(
    ("reply", "error", "status"),
    [
        (Reply(500, None), GatewayUnavailable, 500),
        (Reply(401, None), GatewayAuthError, 401),
        (Reply(200, None), GatewayUnavailable, 200),  # no JSON
        (
            Reply(200, {"responseCode": 500, "responseMessage": "System error."}),
            GatewayUnavailable,
            200,
        ),
    ],
)
def test_aos_failed_status_queries_carry_the_status(
    serve: Any, reply: Reply, error: type[GatewayError], status: int
) -> None:
    fake = AosFake()
    fake.then("status", reply)
    with pytest.raises(error) as raised:
        aos_gateway.from_settings(serve(fake).url).status(["send-1"])
    assert fields(raised) == ("aos", status)


# --- Twilio -----------------------------------------------------------------------------------


def twilio_at(url: str, token: str = TOKEN) -> TwilioGateway:
    http = HttpSettings(base_url=url, token=token, read_timeout_s=2.0)
    return TwilioGateway(http, TwilioSettings(ACCOUNT, "KUDEN"))


def test_twilio_refused_credentials_name_twilio_and_401() -> None:
    with TwilioStub() as stub:
        gateway = twilio_at(stub.url, "wrong-token")
        with pytest.raises(GatewayAuthError) as sent:
            gateway.send(msg())
        with pytest.raises(GatewayAuthError) as checked:
            gateway.check_connection()
    assert fields(sent) == fields(checked) == ("twilio", 401)


def test_twilio_lookup_by_send_id_makes_no_request_so_has_no_status() -> None:
    with pytest.raises(GatewayUnavailable) as raised:
        twilio_at(f"http://127.0.0.1:{closed_port()}").lookup("send-1")
    assert fields(raised) == ("twilio", None)


@pytest.mark.parametrize(("reply", "status"), [(Reply(503, None), 503), (Reply(400, None), 400)])
def test_twilio_failed_status_fetch_carries_the_status(
    serve: Any, reply: Reply, status: int
) -> None:
    with pytest.raises(GatewayUnavailable) as raised:
        twilio_at(serve(lambda seen: reply).url).status([SID])
    assert fields(raised) == ("twilio", status)
