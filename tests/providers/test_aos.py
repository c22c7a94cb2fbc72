"""AOS 絶対リーチ!SMS against a scripted server on 127.0.0.1: the always-200 envelope, the
duplicate-clientTag retry, the quota stop, delivery reasons, settings from the environment."""

from __future__ import annotations

import threading
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from fakes import AOS_CLIENT, AOS_SMS_CODE, AOS_TOKEN, AosFake, aos
from provider_fixtures import aos_env, karaden_env, serve  # fixtures
from scripted import Reply

from kuden_xl.clock import JST
from kuden_xl.dispatch import DispatchSettings, Outgoing, dispatch
from kuden_xl.errors import GatewayAuthError, GatewayQuotaError, SettingsError
from kuden_xl.gateways.aos import AosGateway, from_settings
from kuden_xl.gateways.base import Attempt, OutgoingMessage
from kuden_xl.ledger import Ledger, State
from kuden_xl.schema import Delivery, ResultCode

pytestmark = pytest.mark.usefixtures("aos_env")
FAST = DispatchSettings(backoff_s=0.01, backoff_cap_s=0.05, concurrency=1)


def gateway(url: str) -> AosGateway:
    return from_settings(url)


def msg(send_id: str = "send-1", **kw: Any) -> OutgoingMessage:
    return OutgoingMessage(send_id, "09012340001", "お知らせです", **kw)


def out(n: int) -> list[Outgoing]:
    return [Outgoing(r, f"0901234{r:04d}", "本文", 1) for r in range(2, 2 + n)]


def test_a_send_carries_the_account_as_form_fields_and_our_send_id_as_client_tag(
    serve: Any,
) -> None:
    fake = AosFake()
    server = serve(fake)
    receipt = gateway(server.url).send(msg())
    assert receipt.attempt is Attempt.ACCEPTED and receipt.message_id == "send-1"
    (seen,) = server.seen
    assert seen.method == "POST" and seen.path == "/p5/api/mt.json"
    assert seen.form == [
        ("token", AOS_TOKEN),
        ("clientId", AOS_CLIENT),
        ("smsCode", AOS_SMS_CODE),
        ("message", "お知らせです"),
        ("phoneNumber", "09012340001"),
        ("clientTag", "send-1"),
    ]
    assert "authorization" not in seen.headers


def test_a_scheduled_send_gives_schedule_time_in_japan_time_rounded_up(serve: Any) -> None:
    server = serve(AosFake())
    at = datetime(2026, 11, 28, 0, 0, 30, tzinfo=JST)
    receipt = gateway(server.url).send(msg(scheduled_at=at))
    assert receipt.attempt is Attempt.SCHEDULED
    assert server.seen[0].field("scheduleTime") == "2026-11-28 00:01"


@pytest.mark.parametrize(
    ("code", "text", "reason"),
    [
        (100, "Required message.", "必須項目がありません（Required message.）"),
        (110, "Invalid phoneNumber.", "項目の内容が不正です（Invalid phoneNumber.）"),
        (120, "message too long.", "項目が長すぎます（message too long.）"),
    ],
)
def test_field_errors_are_rejected_naming_the_field(
    serve: Any, code: int, text: str, reason: str
) -> None:
    fake = AosFake()
    fake.then("send", Reply(200, aos(code, text)))
    receipt = gateway(serve(fake).url).send(msg())
    assert receipt.attempt is Attempt.REJECTED and receipt.reason == reason


@pytest.mark.parametrize("text", ["Invalid token.", "Required clientId.", "Invalid smsCode."])
def test_refused_account_fields_stop_the_run(serve: Any, text: str) -> None:
    fake = AosFake()
    fake.then("send", Reply(200, aos(110 if text.startswith("Invalid") else 100, text)))
    with pytest.raises(GatewayAuthError, match="KUDEN_XL_AOS_CLIENT_ID"):
        gateway(serve(fake).url).send(msg())


def test_auth_refused_on_the_first_request_stops_the_run(
    serve: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KUDEN_XL_TOKEN", "x" * 32)
    server = serve(AosFake())
    with Ledger.open(tmp_path / "l.sqlite3") as ledger, pytest.raises(GatewayAuthError):
        dispatch(out(4), gateway(server.url), ledger, settings=FAST)
    assert len(server.seen) == 1


def test_quota_exhausted_mid_run_stops_it_and_keeps_what_was_sent(
    serve: Any, tmp_path: Path
) -> None:
    fake = AosFake(quota=3)
    server = serve(fake)
    results: list[Any] = []
    with Ledger.open(tmp_path / "l.sqlite3") as ledger:
        with pytest.raises(GatewayQuotaError):
            dispatch(out(8), gateway(server.url), ledger, settings=FAST, on_result=results.append)
        sent = ledger.find_sent_many([ledger.identity(o.number, o.body) for o in out(8)])
        codes = [r.code for r in results]
        assert codes == [ResultCode.ACCEPTED] * 3 + [ResultCode.GATEWAY_ERROR]
        assert "送信可能件数の上限" in results[-1].reason
        assert "もう一度送信できます" in results[-1].reason
        assert sorted(e.state for e in sent.values()) == [State.ACCEPTED] * 3
        assert len(fake.messages) == 3 and len(server.seen) == 4  # the other 4 never left
        fake.quota = None  # the plan is raised: the next run sends the rest, not the first 3
        again = dispatch(out(8), gateway(server.url), ledger, settings=FAST)
    assert [r.code for r in again] == [ResultCode.SKIP_RECENT] * 3 + [ResultCode.ACCEPTED] * 5
    assert len(fake.messages) == 8


def test_a_duplicate_client_tag_is_looked_up_and_recorded(serve: Any) -> None:
    fake = AosFake()
    gw = gateway(serve(fake).url)
    assert gw.send(msg()).attempt is Attempt.ACCEPTED
    again = gw.send(msg())
    assert again.attempt is Attempt.ACCEPTED and again.message_id == "send-1"
    assert len(fake.messages) == 1


def test_a_timeout_after_aos_accepted_then_a_retry_sends_exactly_one_message(
    serve: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KUDEN_XL_READ_TIMEOUT", "1")  # the held answer never comes in time
    fake = AosFake()
    release = threading.Event()
    fake.then("send", Reply(hold=release), record=True)
    server = serve(fake)
    with Ledger.open(tmp_path / "l.sqlite3") as ledger:
        (result,) = dispatch(out(1), gateway(server.url), ledger, settings=FAST)
    release.set()
    assert result.code is ResultCode.ACCEPTED and len(fake.messages) == 1
    posts = server.requests_to("/mt.json")
    assert len(posts) == 2 and posts[0].field("clientTag") == posts[1].field("clientTag")
    (lookup,) = server.requests_to("/status.json")
    assert lookup.field("clientTag") == posts[0].field("clientTag")


def test_system_error_is_retried_with_the_same_client_tag(serve: Any, tmp_path: Path) -> None:
    fake = AosFake()
    fake.then("send", Reply(200, aos(500, "System error.")))
    server = serve(fake)
    with Ledger.open(tmp_path / "l.sqlite3") as ledger:
        (result,) = dispatch(out(1), gateway(server.url), ledger, settings=FAST)
    assert result.code is ResultCode.ACCEPTED
    tags = {s.field("clientTag") for s in server.requests_to("/mt.json")}
    assert len(server.requests_to("/mt.json")) == 2 and len(tags) == 1


def test_429_is_not_processed_with_retry_after(serve: Any) -> None:
    fake = AosFake()
    fake.then("send", Reply(429, None, {"Retry-After": "3"}))
    receipt = gateway(serve(fake).url).send(msg())
    assert receipt.attempt is Attempt.NOT_PROCESSED and receipt.retry_after_s == 3.0


def test_lookup_finds_sent_and_reserved_messages_and_nothing_else(serve: Any) -> None:
    gw = gateway(serve(AosFake()).url)
    gw.send(msg("now"))
    gw.send(msg("later", scheduled_at=datetime(2026, 11, 28, 9, 0, tzinfo=JST)))
    assert gw.lookup("now").attempt is Attempt.ACCEPTED  # type: ignore[union-attr]
    assert gw.lookup("later").attempt is Attempt.SCHEDULED  # type: ignore[union-attr]
    assert gw.lookup("never") is None


@pytest.mark.parametrize(
    ("status", "detail", "delivery", "reason"),
    [
        ("0", "", Delivery.PENDING, None),
        ("1", "", Delivery.PENDING, None),
        ("2", "", Delivery.DELIVERED, None),
        ("3", "11823", Delivery.UNDELIVERED, "圏外・電源OFF"),
        ("3", "31824", Delivery.UNDELIVERED, "圏外・電源OFF"),
        ("3", "51833", Delivery.UNDELIVERED, "圏外・電源OFF"),
        ("3", "61834", Delivery.UNDELIVERED, "SMS受信拒否設定"),
        ("3", "12732", Delivery.UNDELIVERED, "番号なし/解約"),
        ("3", "32721", Delivery.UNDELIVERED, "輻輳"),
        ("3", "52821", Delivery.UNDELIVERED, "輻輳"),
        ("3", "99834", Delivery.UNDELIVERED, "SMS受信拒否設定"),  # a module the spec never named
        ("3", "13999", Delivery.UNDELIVERED, None),
    ],
)
def test_delivery_from_status_and_the_3_digit_class(
    serve: Any, status: str, detail: str, delivery: Delivery, reason: str | None
) -> None:
    fake = AosFake()
    gw = gateway(serve(fake).url)
    gw.send(msg())
    fake.set_status("send-1", status, detail)
    (found,) = gw.status(["send-1"])
    assert (found.delivery, found.reason) == (delivery, reason)


def test_status_by_date_when_it_takes_fewer_requests(serve: Any) -> None:
    fake = AosFake()
    server = serve(fake)
    gw = gateway(server.url)
    tags = [f"t{i}" for i in range(10)]
    for tag in tags:
        gw.send(msg(tag))
    fake.set_status("t3", "2")
    server.seen.clear()
    found = gw.status(tags)
    assert [f.delivery for f in found][2:4] == [Delivery.PENDING, Delivery.DELIVERED]
    queries = server.requests_to("/status.json")
    assert len(queries) == 4 and {q.field("clientTag") for q in queries} == {None}
    server.seen.clear()
    gw.status(tags[:2])
    assert [q.field("clientTag") for q in server.requests_to("/status.json")] == ["t0", "t1"]


def test_missing_settings_are_one_error_naming_each_variable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("KUDEN_XL_AOS_SMS_CODE")
    with pytest.raises(SettingsError, match="KUDEN_XL_AOS_SMS_CODE"):
        from_settings("http://127.0.0.1:9")


def test_settings_from_the_aos_table_of_config_toml(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("KUDEN_XL_AOS_CLIENT_ID")
    monkeypatch.delenv("KUDEN_XL_AOS_SMS_CODE")
    config = tmp_path / "config.toml"
    config.write_text('[aos]\nclient_id = "777"\nsms_code = "ABCDE"\n', encoding="utf-8")
    monkeypatch.setenv("KUDEN_XL_CONFIG", str(config))
    gw = from_settings(None)
    assert gw.identity.account == "777"
    assert gw.identity.base_url == "https://sms-api.aossms.com"
    gw.close()
