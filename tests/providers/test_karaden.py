"""Karaden against a scripted server on 127.0.0.1: every documented answer, the retry and
reconciliation rules, settings from the environment only."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fakes import SERVICE, TENANT, KaradenFake, karaden_error
from provider_fixtures import aos_env, karaden_env, serve  # fixtures
from scripted import Reply

from kuden_xl.clock import JST
from kuden_xl.dispatch import DispatchSettings, Outgoing, dispatch
from kuden_xl.errors import GatewayAuthError, SettingsError
from kuden_xl.gateways.base import Attempt, OutgoingMessage
from kuden_xl.gateways.karaden import KaradenGateway, from_settings
from kuden_xl.ledger import Ledger, State
from kuden_xl.reconcile import reconcile
from kuden_xl.schema import Delivery, ResultCode

pytestmark = pytest.mark.usefixtures("karaden_env")
T = datetime(2026, 11, 27, 10, 0, tzinfo=JST)
FAST = DispatchSettings(backoff_s=0.01, backoff_cap_s=0.05, concurrency=1)


def gateway(url: str) -> KaradenGateway:
    return from_settings(url)


def msg(send_id: str = "send-1", **kw: Any) -> OutgoingMessage:
    return OutgoingMessage(send_id, "09012340001", "お知らせです", **kw)


def test_a_send_carries_the_spec_fields_and_our_send_id_as_a_tag(serve: Any) -> None:
    fake = KaradenFake()
    server = serve(fake)
    receipt = gateway(server.url).send(msg())
    assert receipt.attempt is Attempt.ACCEPTED and receipt.message_id in fake.messages
    (seen,) = server.seen
    assert seen.method == "POST" and seen.path == f"/{TENANT}/messages"
    assert seen.form == [
        ("service_id", SERVICE),
        ("to", "09012340001"),
        ("body", "お知らせです"),
        ("tags[]", "send-1"),
    ]
    assert seen.headers["authorization"] == "Bearer karaden-token"
    assert seen.headers["karaden-version"] == "2024-03-01"


def test_a_scheduled_send_gives_scheduled_at_in_japan_time(serve: Any) -> None:
    server = serve(KaradenFake())
    at = datetime(2026, 11, 28, 0, 0, tzinfo=JST).astimezone(JST)
    receipt = gateway(server.url).send(msg(scheduled_at=at))
    assert receipt.attempt is Attempt.SCHEDULED
    assert server.seen[0].field("scheduled_at") == "2026-11-28T00:00:00+09:00"


def test_more_than_30_days_ahead_is_refused_before_anything_is_sent(serve: Any) -> None:
    server = serve(KaradenFake())
    receipt = gateway(server.url).send(msg(scheduled_at=T + timedelta(days=30, minutes=1)))
    assert receipt.attempt is Attempt.REJECTED and "30日" in (receipt.reason or "")
    assert server.seen == []


@pytest.mark.parametrize(
    "reply",
    [
        Reply(401, karaden_error("unauthentication", "認証に失敗しました")),
        Reply(400, karaden_error("invalid_tenant", "テナントが不正です")),
    ],
)
def test_refused_credentials_or_tenant_stop_the_run(serve: Any, reply: Reply) -> None:
    fake = KaradenFake()
    fake.then("send", reply)
    with pytest.raises(GatewayAuthError, match="KUDEN_XL_"):
        gateway(serve(fake).url).send(msg())


def test_validation_error_is_rejected_with_the_field_messages(serve: Any) -> None:
    fake = KaradenFake()
    errors = {"to": ["送信先電話番号の形式が正しくありません"], "body": ["本文は660文字以下"]}
    fake.then("send", Reply(422, karaden_error("validation_error", "エラー", errors)))
    receipt = gateway(serve(fake).url).send(msg())
    assert receipt.attempt is Attempt.REJECTED
    assert receipt.reason == "to: 送信先電話番号の形式が正しくありません、body: 本文は660文字以下"


def test_429_is_not_processed_with_retry_after(serve: Any) -> None:
    fake = KaradenFake()
    fake.then("send", Reply(429, None, {"Retry-After": "7"}))
    receipt = gateway(serve(fake).url).send(msg())
    assert receipt.attempt is Attempt.NOT_PROCESSED and receipt.retry_after_s == 7.0


def test_5xx_may_have_been_processed_and_is_not_resent(serve: Any, tmp_path: Path) -> None:
    fake = KaradenFake()
    fake.then("send", Reply(500, karaden_error("unknown", "不明なエラー")), record=True)
    server = serve(fake)
    with Ledger.open(tmp_path / "l.sqlite3") as ledger:
        (result,) = dispatch(
            [Outgoing(2, "09012340001", "本文", 1)], gateway(server.url), ledger, settings=FAST
        )
    assert result.code is ResultCode.UNKNOWN and len(server.requests_to("/messages")) == 1


def test_a_timeout_after_karaden_accepted_is_found_by_tag_not_resent(
    serve: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KUDEN_XL_READ_TIMEOUT", "1")  # the held answer never comes in time
    fake = KaradenFake()
    release = threading.Event()
    fake.then("send", Reply(hold=release), record=True)  # accepted, the answer never arrives
    server = serve(fake)
    gw = gateway(server.url)
    with Ledger.open(tmp_path / "l.sqlite3") as ledger:
        (result,) = dispatch([Outgoing(2, "09012340001", "本文", 1)], gw, ledger, settings=FAST)
        release.set()
        assert result.code is ResultCode.UNKNOWN
        monkeypatch.setenv("KUDEN_XL_READ_TIMEOUT", "20")
        report = reconcile(ledger, gateway(server.url))  # the next run
        (entry,) = report.found
        assert entry.state is State.ACCEPTED and entry.message_id in fake.messages
    posts = [s for s in server.seen if s.method == "POST"]
    assert len(posts) == 1 and len(fake.messages) == 1
    (lookup,) = [s for s in server.seen if s.method == "GET"]
    assert lookup.field("tag") == posts[0].field("tags[]")


def test_lookup_of_a_send_karaden_never_got_is_none(serve: Any) -> None:
    assert gateway(serve(KaradenFake()).url).lookup("never-sent") is None


def test_auth_refused_on_the_first_request_stops_the_run(serve: Any, tmp_path: Path) -> None:
    monkey = pytest.MonkeyPatch()
    monkey.setenv("KUDEN_XL_TOKEN", "wrong")
    server = serve(KaradenFake())
    try:
        with Ledger.open(tmp_path / "l.sqlite3") as ledger, pytest.raises(GatewayAuthError):
            dispatch(
                [Outgoing(r, f"0901234{r:04d}", "本文", 1) for r in range(2, 6)],
                gateway(server.url),
                ledger,
                settings=FAST,
            )
    finally:
        monkey.undo()
    assert len(server.seen) == 1


@pytest.mark.parametrize(
    ("status", "sent_result", "delivery", "reason"),
    [
        ("done", "received", Delivery.DELIVERED, None),
        ("done", "unconnected", Delivery.UNDELIVERED, "圏外"),
        ("done", "error", Delivery.UNDELIVERED, "エラー"),
        ("done", "unknown", Delivery.UNKNOWN, None),
        ("done", "none", Delivery.PENDING, None),
        ("waiting", "none", Delivery.PENDING, None),
        ("error", "none", Delivery.UNDELIVERED, "送信エラー"),
        ("processing_error", "none", Delivery.UNDELIVERED, "送信エラー"),
        ("canceled", "none", Delivery.UNDELIVERED, "送信取消"),
    ],
)
def test_delivery_from_the_message_detail(
    serve: Any, status: str, sent_result: str, delivery: Delivery, reason: str | None
) -> None:
    fake = KaradenFake()
    gw = gateway(serve(fake).url)
    sent = gw.send(msg())
    assert sent.message_id is not None
    fake.set_delivery(sent.message_id, status, sent_result)
    (found,) = gw.status([sent.message_id])
    assert (found.delivery, found.reason) == (delivery, reason)


def test_status_of_an_id_karaden_does_not_know_is_unknown(serve: Any) -> None:
    (found,) = gateway(serve(KaradenFake()).url).status(["0b5e2a0e-0000-4000-8000-000000000000"])
    assert found.delivery is Delivery.UNKNOWN


def test_missing_settings_are_one_error_naming_each_variable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("KUDEN_XL_KARADEN_TENANT_ID")
    monkeypatch.delenv("KUDEN_XL_KARADEN_SERVICE_ID")
    with pytest.raises(SettingsError) as caught:
        from_settings("http://127.0.0.1:9")
    text = str(caught.value)
    assert "KUDEN_XL_KARADEN_TENANT_ID" in text and "KUDEN_XL_KARADEN_SERVICE_ID" in text
    assert " / Missing karaden setting" in text


def test_settings_from_the_karaden_table_of_config_toml(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("KUDEN_XL_KARADEN_TENANT_ID")
    monkeypatch.delenv("KUDEN_XL_KARADEN_SERVICE_ID")
    config = tmp_path / "config.toml"
    config.write_text(
        f'[karaden]\ntenant_id = "{TENANT}"\nservice_id = 17\n'
        'base_url = "https://prg.karaden.jp/api/"\n',
        encoding="utf-8",
    )
    monkeypatch.setenv("KUDEN_XL_CONFIG", str(config))
    gw = from_settings(None)
    assert gw.identity.account == TENANT and gw.identity.base_url == "https://prg.karaden.jp/api"
    gw.close()


def test_no_token_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KUDEN_XL_TOKEN")
    monkeypatch.setattr("kuden_xl.credentials._from_keyring", lambda provider: None)
    with pytest.raises(SettingsError, match="KUDEN_XL_TOKEN"):
        from_settings("http://127.0.0.1:9")
