"""The Twilio gateway against a scripted Twilio on 127.0.0.1: every documented error, 429 with
Retry-After, a timeout after Twilio accepted (then found by listing, or UNKNOWN), refused
credentials, delivery results, settings, and `kuden-xl send --provider twilio` from the
environment alone — with no token and no full phone number in anything captured."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from conftest import MakeBook, mobile
from twilio_stub import (
    ACCOUNT,
    API_KEY,
    HANG_AFTER_CREATE,
    HANG_BEFORE_CREATE,
    SERVICE,
    TOKEN,
    TwilioStub,
    error,
)

from kuden_xl.campaign import parse_window
from kuden_xl.dispatch import DispatchSettings, Outgoing, dispatch
from kuden_xl.errors import GatewayAuthError, SettingsError
from kuden_xl.gateways.base import Attempt, OutgoingMessage
from kuden_xl.gateways.http import HttpSettings
from kuden_xl.gateways.twilio import TwilioGateway, TwilioSettings, from_settings, read_settings
from kuden_xl.ledger import Ledger, State
from kuden_xl.plan import _schedule
from kuden_xl.reconcile import reconcile
from kuden_xl.row_plan import RowPlan
from kuden_xl.schema import Delivery, ResultCode
from kuden_xl.slots import Scheduling

NUMBER = mobile(1234)  # 09012341234
FAST = DispatchSettings(concurrency=4, max_attempts=3, backoff_s=0.01, backoff_cap_s=0.02)
JST = timezone(timedelta(hours=9))


@pytest.fixture
def stub() -> Iterator[TwilioStub]:
    with TwilioStub() as s:
        yield s


def gateway(
    stub: TwilioStub, *, service: bool = False, token: str = TOKEN, key: str | None = None
) -> TwilioGateway:
    settings = TwilioSettings(
        ACCOUNT, None if service else "KUDEN", SERVICE if service else None, key
    )
    http = HttpSettings(base_url=stub.url, token=token, read_timeout_s=0.5)
    return TwilioGateway(http, settings)


def message(send_id: str = "s1", scheduled_at: datetime | None = None) -> OutgoingMessage:
    return OutgoingMessage(send_id, NUMBER, "【○○市】お知らせです", scheduled_at)


def test_a_send_posts_the_documented_form_with_basic_auth(stub: TwilioStub) -> None:
    receipt = gateway(stub).send(message())
    assert receipt.attempt is Attempt.ACCEPTED and receipt.message_id == stub.messages[0]["sid"]
    method, path, _, form = stub.requests[0]
    assert (method, path) == ("POST", f"/2010-04-01/Accounts/{ACCOUNT}/Messages.json")
    assert form == {"To": ["+819012341234"], "Body": ["【○○市】お知らせです"], "From": ["KUDEN"]}


def test_an_api_key_authenticates_in_place_of_the_account_sid() -> None:
    with TwilioStub(user=API_KEY) as stub:
        assert gateway(stub, key=API_KEY).send(message()).attempt is Attempt.ACCEPTED


def test_a_schedule_goes_through_the_messaging_service(stub: TwilioStub) -> None:
    at = datetime(2099, 6, 1, 10, 0, tzinfo=JST)
    receipt = gateway(stub, service=True).send(message(scheduled_at=at))
    assert receipt.attempt is Attempt.SCHEDULED
    form = stub.requests[0][3]
    assert form["MessagingServiceSid"] == [SERVICE] and "From" not in form
    assert form["ScheduleType"] == ["fixed"] and form["SendAt"] == ["2099-06-01T01:00:00Z"]


def test_without_a_messaging_service_nothing_is_scheduled(stub: TwilioStub) -> None:
    gw = gateway(stub)
    assert not gw.capabilities.can_schedule
    at = datetime(2099, 6, 1, 10, 0, tzinfo=JST)
    assert gw.send(message(scheduled_at=at)).attempt is Attempt.REJECTED
    assert stub.requests == []


@pytest.mark.parametrize(
    ("code", "words"),
    [
        (21211, "電話番号が正しくありません"),
        (21408, "国・地域"),
        (21612, "送信元からこの宛先"),
        (21614, "SMS を受信できない"),
        (21610, "配信停止"),
    ],
)
def test_documented_refusals_are_rejected_in_japanese(
    stub: TwilioStub, code: int, words: str
) -> None:
    stub.script.append(error(400, code))
    receipt = gateway(stub).send(message())
    assert receipt.attempt is Attempt.REJECTED
    assert words in (receipt.reason or "") and str(code) in (receipt.reason or "")
    assert "1234" not in (receipt.reason or "")  # Twilio's text quotes the number: not kept


def test_too_many_requests_is_not_processed_with_retry_after(stub: TwilioStub) -> None:
    stub.script.append(error(429, 20429, {"Retry-After": "3"}))
    receipt = gateway(stub).send(message())
    assert receipt.attempt is Attempt.NOT_PROCESSED and receipt.retry_after_s == 3.0
    stub.script.append(error(400, 20429))  # the code alone says the same
    assert gateway(stub).send(message()).attempt is Attempt.NOT_PROCESSED


def test_a_429_then_success_sends_exactly_once(stub: TwilioStub, tmp_path: Path) -> None:
    stub.script.append(error(429, 20429, {"Retry-After": "0"}))
    with Ledger.open(tmp_path / "l.sqlite3") as ledger:
        [result] = dispatch([Outgoing(2, NUMBER, "本文", 1)], gateway(stub), ledger, settings=FAST)
    assert result.code is ResultCode.ACCEPTED and len(stub.messages) == 1


def test_a_server_error_may_have_been_processed(stub: TwilioStub) -> None:
    stub.script.append(error(503, 20500))
    assert gateway(stub).send(message()).attempt is Attempt.MAYBE_PROCESSED


def test_refused_credentials_stop_the_run_at_the_first_request(
    stub: TwilioStub, tmp_path: Path
) -> None:
    gw = gateway(stub, token="wrong-token")
    outgoing = [Outgoing(r, mobile(r), "本文", 1) for r in range(2, 12)]
    with Ledger.open(tmp_path / "l.sqlite3") as ledger:
        with pytest.raises(GatewayAuthError):
            dispatch(outgoing, gw, ledger, settings=DispatchSettings(concurrency=1))
    assert len(stub.requests) == 1 and stub.messages == []
    with pytest.raises(GatewayAuthError):
        gw.check_connection()


def test_a_timeout_after_twilio_accepted_is_found_by_listing(
    stub: TwilioStub, tmp_path: Path
) -> None:
    stub.script.append(HANG_AFTER_CREATE)
    gw = gateway(stub)
    with Ledger.open(tmp_path / "l.sqlite3") as ledger:
        [result] = dispatch([Outgoing(2, NUMBER, "本文", 1)], gw, ledger, settings=FAST)
        assert result.code is ResultCode.UNKNOWN  # not idempotent: never resent blindly
        assert len(stub.messages) == 1
        stub.create("+819012349999", "本文")  # another number, same body: not a match
        report = reconcile(ledger, gw)
        [entry] = report.found
        assert entry.state is State.ACCEPTED and entry.message_id == stub.messages[0]["sid"]
    assert len([r for r in stub.requests if r[0] == "POST"]) == 1


def test_a_timeout_before_twilio_created_anything_stays_unknown(
    stub: TwilioStub, tmp_path: Path
) -> None:
    stub.script.append(HANG_BEFORE_CREATE)
    gw = gateway(stub)
    with Ledger.open(tmp_path / "l.sqlite3") as ledger:
        [result] = dispatch([Outgoing(2, NUMBER, "本文", 1)], gw, ledger, settings=FAST)
        report = reconcile(ledger, gw)
        assert [e.state for e in report.unknown] == [State.UNKNOWN] and not report.found
        list_calls = [r for r in stub.requests if r[0] == "GET"]
        assert list_calls and list_calls[0][2]["DateSent>"][0].endswith("Z")
    assert result.code is ResultCode.UNKNOWN and stub.messages == []


def test_two_matching_messages_decide_nothing(stub: TwilioStub, tmp_path: Path) -> None:
    stub.script.append(HANG_AFTER_CREATE)
    gw = gateway(stub)
    with Ledger.open(tmp_path / "l.sqlite3") as ledger:
        dispatch([Outgoing(2, NUMBER, "本文", 1)], gw, ledger, settings=FAST)
        stub.create("+819012341234", "本文")  # sent again meanwhile, from elsewhere
        report = reconcile(ledger, gw)
        assert len(report.unknown) == 1 and not report.found


def test_the_listing_follows_next_page_uri(stub: TwilioStub, tmp_path: Path) -> None:
    import kuden_xl.gateways.twilio as twilio

    stub.script.append(HANG_AFTER_CREATE)
    gw = gateway(stub)
    with Ledger.open(tmp_path / "l.sqlite3") as ledger:
        dispatch([Outgoing(2, NUMBER, "本文", 1)], gw, ledger, settings=FAST)
        for i in range(5):
            stub.create(f"+8190123400{i:02d}", "本文")  # newer: the match is on the last page
        old = twilio.LIST_PAGE_SIZE
        twilio.LIST_PAGE_SIZE = 2
        try:
            report = reconcile(ledger, gw)
        finally:
            twilio.LIST_PAGE_SIZE = old
        assert len(report.found) == 1
    pages = [r for r in stub.requests if r[0] == "GET"]
    assert len(pages) == 3 and "PageToken" in pages[-1][2]


@pytest.mark.parametrize(
    ("status", "code", "label"),
    [
        ("delivered", None, (Delivery.DELIVERED, None)),
        ("sent", None, (Delivery.PENDING, None)),
        ("queued", None, (Delivery.PENDING, None)),
        ("undelivered", 30003, (Delivery.UNDELIVERED, "圏外・電源OFF")),
        ("undelivered", 30005, (Delivery.UNDELIVERED, "番号なし/解約")),
        ("undelivered", 30006, (Delivery.UNDELIVERED, "固定電話・SMS非対応")),
        ("undelivered", 30007, (Delivery.UNDELIVERED, "迷惑SMSとして遮断")),
        ("failed", 30008, (Delivery.UNDELIVERED, "原因不明")),
    ],
)
def test_delivery_from_status_and_error_code(
    stub: TwilioStub, status: str, code: int | None, label: tuple[Delivery, str | None]
) -> None:
    sid = stub.create("+819012341234", "本文", status, error_code=code)["sid"]
    [result] = gateway(stub).status([sid])
    assert (result.delivery, result.reason) == label


def test_status_of_many_and_of_ids_twilio_does_not_know(stub: TwilioStub) -> None:
    sids = [stub.create(f"+8190123400{i:02d}", "本文", "delivered")["sid"] for i in range(20)]
    unknown = "SM" + "0" * 32
    results = gateway(stub).status([*sids, unknown, "not-a-sid"])
    assert [r.message_id for r in results] == [*sids, unknown, "not-a-sid"]
    assert {r.delivery for r in results[:20]} == {Delivery.DELIVERED}
    assert results[20].delivery is Delivery.UNKNOWN and results[21].delivery is Delivery.UNKNOWN


def test_the_connection_check_fetches_the_account(stub: TwilioStub) -> None:
    gateway(stub).check_connection()
    assert stub.requests == [("GET", f"/2010-04-01/Accounts/{ACCOUNT}.json", {}, {})]


def test_the_plan_holds_slots_twilio_cannot_schedule() -> None:
    now = datetime(2026, 11, 27, 8, 50, tzinfo=JST)  # the window opens in 10 minutes
    window = parse_window("09:00-19:00")
    row = RowPlan(2, None, number=NUMBER, body="本文", segments=1)
    s = Scheduling(
        now,
        window,
        can_schedule=True,
        min_ahead=timedelta(minutes=15),
        max_ahead=timedelta(days=35),
    )
    [held] = _schedule([row], s)
    assert held.code is ResultCode.HOLD_WINDOW and "15分" in held.reason
    [scheduled] = _schedule(
        [row],
        Scheduling(
            now.replace(hour=8, minute=0),
            window,
            can_schedule=True,
            min_ahead=timedelta(minutes=15),
        ),
    )
    assert scheduled.scheduled_at == now.replace(hour=9, minute=0)


# -- settings ---------------------------------------------------------------------------------


def test_settings_come_from_the_environment_then_the_twilio_table() -> None:
    config = {"twilio": {"account_sid": ACCOUNT, "from": "CITY", "token": "never-read"}}
    settings = read_settings({}, config)
    assert (settings.account_sid, settings.sender) == (ACCOUNT, "CITY")
    env = {
        "KUDEN_XL_TWILIO_FROM": "+815012345678",
        "KUDEN_XL_TWILIO_MESSAGING_SERVICE_SID": SERVICE,
    }
    settings = read_settings(env, config)
    assert (settings.sender, settings.messaging_service_sid) == ("+815012345678", SERVICE)
    assert settings.can_schedule


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({}, "KUDEN_XL_TWILIO_ACCOUNT_SID"),
        ({"KUDEN_XL_TWILIO_ACCOUNT_SID": "AC123"}, "KUDEN_XL_TWILIO_ACCOUNT_SID"),
        ({"KUDEN_XL_TWILIO_ACCOUNT_SID": ACCOUNT}, "KUDEN_XL_TWILIO_FROM"),
        (
            {
                "KUDEN_XL_TWILIO_ACCOUNT_SID": ACCOUNT,
                "KUDEN_XL_TWILIO_MESSAGING_SERVICE_SID": "MG1",
            },
            "KUDEN_XL_TWILIO_MESSAGING_SERVICE_SID",
        ),
    ],
)
def test_a_missing_or_malformed_setting_names_its_variable(env: dict[str, str], named: str) -> None:
    with pytest.raises(SettingsError, match=named) as info:
        read_settings(env, {})
    assert " / " in str(info.value)  # Japanese, then English


def test_a_missing_token_names_kuden_xl_token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KUDEN_XL_TWILIO_ACCOUNT_SID", ACCOUNT)
    monkeypatch.setenv("KUDEN_XL_TWILIO_FROM", "CITY")
    monkeypatch.setattr("kuden_xl.credentials._from_keyring", lambda provider: None)
    with pytest.raises(SettingsError, match="KUDEN_XL_TOKEN"):
        from_settings(config={})


# -- end to end -------------------------------------------------------------------------------


def kuden(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "kuden_xl", *args],
        capture_output=True,
        text=True,
        encoding="utf-8",
        env={**os.environ, "KUDEN_XL_DEBUG": "", **env},
        stdin=subprocess.DEVNULL,
    )


def test_send_with_twilio_configured_only_through_the_environment(
    stub: TwilioStub, make_book: MakeBook, caplog: pytest.LogCaptureFixture
) -> None:
    numbers = [mobile(5000 + i) for i in range(6)]
    book = make_book(
        [["氏名", "電話番号"]] + [[f"住民{i}", n] for i, n in enumerate(numbers)],
        {"本文": "【○○市】{氏名}様 お知らせです"},
    )
    stub.script += [error(400, 21614), error(429, 20429, {"Retry-After": "0"})]
    env = {
        "KUDEN_XL_PROVIDER": "twilio",
        "KUDEN_XL_BASE_URL": stub.url,
        "KUDEN_XL_TWILIO_ACCOUNT_SID": ACCOUNT,
        "KUDEN_XL_TWILIO_FROM": "KUDEN",
        "KUDEN_XL_TOKEN": TOKEN,
        "KUDEN_XL_NOW": "2026-11-27T10:00:00",
    }
    sent = kuden("send", str(book), "--all", "--yes", env=env)
    assert sent.returncode == 0, sent.stderr
    status = kuden("status", str(book), env=env)
    assert status.returncode == 0, status.stderr
    shown = kuden("config", "show", "--provider", "twilio", env=env)
    tested = kuden("connection", "test", env=env)
    assert tested.returncode == 0, tested.stdout + tested.stderr
    assert len(stub.messages) == 5  # one refused (21614); the 429 was retried once
    ws = openpyxl.load_workbook(book)["送信リスト"]
    codes = sorted(str(ws.cell(r, 5).value) for r in range(2, 8))
    assert codes.count("ACCEPTED") == 5 and codes.count("REJECTED") == 1
    with caplog.at_level(logging.DEBUG):
        with Ledger.open(Path(os.environ["KUDEN_XL_LEDGER"])) as ledger:
            assert len(ledger.unsettled()) == 0
    captured = "\n".join(p.stdout + p.stderr for p in (sent, status, shown, tested)) + caplog.text
    assert TOKEN not in captured and "KUDEN_XL_TOKEN" in shown.stdout
    for number in numbers:
        assert number not in captured and ("+81" + number[1:]) not in captured


def test_a_status_fetch_answered_429_is_asked_again(stub: TwilioStub) -> None:
    sid = stub.create("+819012341234", "本文", "delivered")["sid"]
    original = stub.handle
    busy = [error(429, 20429, {"Retry-After": "0"})]

    def handle(h: Any, method: str) -> None:
        if method == "GET" and busy:
            return stub.reply(h, *busy.pop())
        original(h, method)

    stub.handle = handle  # type: ignore[method-assign]
    [result] = gateway(stub).status([sid])
    assert result.delivery is Delivery.DELIVERED and busy == []


def test_nothing_secret_or_a_full_number_in_logs_of_a_failed_and_reconciled_send(
    stub: TwilioStub, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    stub.script += [error(400, 21211), HANG_AFTER_CREATE]
    gw = gateway(stub)
    with caplog.at_level(logging.DEBUG), Ledger.open(tmp_path / "l.sqlite3") as ledger:
        dispatch(
            [Outgoing(2, NUMBER, "本文", 1), Outgoing(3, NUMBER, "別の本文", 1)],
            gw,
            ledger,
            settings=DispatchSettings(concurrency=1),
        )
        reconcile(ledger, gw)
        reasons = " ".join(str(e.reason) for e in ledger.unsettled())
    text = caplog.text + reasons
    assert "POST /2010-04-01" in caplog.text  # urllib3's debug lines were captured
    assert TOKEN not in text and NUMBER not in text and "+819012341234" not in text


def test_a_late_delivery_result_stays_pending_until_final_and_final_is_kept(
    stub: TwilioStub, make_book: MakeBook
) -> None:
    book = make_book([["氏名", "電話番号"], ["住民", NUMBER]], {"本文": "【○○市】お知らせです"})
    env = {
        "KUDEN_XL_PROVIDER": "twilio",
        "KUDEN_XL_BASE_URL": stub.url,
        "KUDEN_XL_TWILIO_ACCOUNT_SID": ACCOUNT,
        "KUDEN_XL_TWILIO_FROM": "KUDEN",
        "KUDEN_XL_TOKEN": TOKEN,
        "KUDEN_XL_NOW": "2026-11-27T10:00:00",
    }
    assert kuden("send", str(book), "--all", "--yes", env=env).returncode == 0
    [message] = stub.messages

    def delivery_after(status: str, code: int | None = None) -> object:
        stub.set_status(message["sid"], status, code)
        assert kuden("status", str(book), env=env).returncode == 0
        return openpyxl.load_workbook(book)["送信リスト"]["I2"].value

    assert delivery_after("sent") == "確認中"  # the carrier has not answered yet
    assert delivery_after("undelivered", 30003) == "不達（圏外・電源OFF）"
    fetches = len(stub.requests)
    assert delivery_after("delivered") == "不達（圏外・電源OFF）"  # final: never overwritten
    assert len(stub.requests) == fetches  # and not asked again
