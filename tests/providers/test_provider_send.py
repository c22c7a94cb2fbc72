"""``kuden-xl send`` and ``status`` end to end with Karaden or AOS configured only through the
environment, against the fake on 127.0.0.1; and nothing secret or a full number in any log line,
output or exception text of those runs."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from click.testing import CliRunner
from conftest import MakeBook, mobile
from fakes import AOS_TOKEN, AosFake, KaradenFake
from provider_fixtures import aos_env, karaden_env, serve  # fixtures

from kuden_xl.cli import cli

BODY = "【○○市】{氏名}様 国民健康保険料のお知らせです"
NUMBERS = [mobile(1001), mobile(1002, "080"), mobile(1003, "070")]
TOKENS = {"karaden": "karaden-token", "aos": AOS_TOKEN}


def rows(path: Path) -> dict[int, dict[str, Any]]:
    ws = openpyxl.load_workbook(path).active
    header = [c.value for c in ws[1]]
    return {
        r: dict(zip(header, values, strict=False))
        for r, values in enumerate(ws.iter_rows(min_row=2, values_only=True), start=2)
    }


def book(make_book: MakeBook, numbers: list[str] = NUMBERS, **settings: str) -> Path:
    return make_book(
        [["氏名", "電話番号"], *[[f"住民{i}", n] for i, n in enumerate(numbers)]],
        {"本文": BODY, **settings},
    )


@pytest.fixture(params=["karaden", "aos"])
def provider(request: pytest.FixtureRequest, serve: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    """The provider's environment and a fake of it; returns the fake."""
    request.getfixturevalue(f"{request.param}_env")
    fake = KaradenFake() if request.param == "karaden" else AosFake()
    server = serve(fake)
    monkeypatch.setenv("KUDEN_XL_BASE_URL", server.url)
    fake.name = request.param
    fake.server = server
    return fake


def deliver(fake: Any) -> None:
    """The first number delivered, the second out of range, the third still pending."""
    if isinstance(fake, KaradenFake):
        by_number = {m["to"]: i for i, m in fake.messages.items()}
        fake.set_delivery(by_number[NUMBERS[0]], "done", "received", charged=2)
        fake.set_delivery(by_number[NUMBERS[1]], "done", "unconnected")
    else:
        by_number = {"0" + m["phone"][3:]: t for t, m in fake.messages.items()}
        fake.set_status(by_number[NUMBERS[0]], "2", billed=2)
        fake.set_status(by_number[NUMBERS[1]], "3", "31824")


def test_send_then_status_with_the_provider_from_the_environment_only(
    provider: Any, make_book: MakeBook, caplog: pytest.LogCaptureFixture
) -> None:
    path = book(make_book)
    caplog.set_level(logging.DEBUG)
    runner = CliRunner()
    sent = runner.invoke(cli, ["send", str(path), "--all", "--yes"])
    assert sent.exit_code == 0, sent.output
    got = rows(path)
    assert [got[r]["結果コード"] for r in (2, 3, 4)] == ["ACCEPTED"] * 3
    assert len(provider.messages) == 3
    assert {got[r]["メッセージID"] for r in (2, 3, 4)} == set(provider.messages)

    again = runner.invoke(cli, ["send", str(path), "--all", "--yes"])
    assert again.exit_code == 0 and len(provider.messages) == 3  # never twice

    deliver(provider)
    status = runner.invoke(cli, ["status", str(path)])
    assert status.exit_code == 0, status.output
    got = rows(path)
    assert [got[r]["配信結果"] for r in (2, 3, 4)] == [
        "配信済",
        "不達（圏外）" if provider.name == "karaden" else "不達（圏外・電源OFF）",
        "確認中",
    ]
    assert [got[r]["通数"] for r in (2, 3, 4)] == [2, 1, 1]  # the billed count once known
    undo(provider)  # a later, different answer for the delivered one: never asked again
    later = runner.invoke(cli, ["status", str(path)])
    assert later.exit_code == 0 and rows(path)[2]["配信結果"] == "配信済"
    assert_nothing_secret(caplog, [sent, again, status, later], TOKENS[provider.name])


def undo(fake: Any) -> None:
    if isinstance(fake, KaradenFake):
        message_id = next(i for i, m in fake.messages.items() if m["to"] == NUMBERS[0])
        fake.set_delivery(message_id, "done", "error")
    else:
        tag = next(t for t, m in fake.messages.items() if m["phone"] == "+81" + NUMBERS[0][1:])
        fake.set_status(tag, "3", "11834")


def test_refused_credentials_say_which_variable_and_leak_nothing(
    provider: Any,
    make_book: MakeBook,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    wrong = "W" * 32
    monkeypatch.setenv("KUDEN_XL_TOKEN", wrong)
    path = book(make_book)
    caplog.set_level(logging.DEBUG)
    result = CliRunner().invoke(cli, ["send", str(path), "--all", "--yes"])
    assert result.exit_code != 0 and "KUDEN_XL_TOKEN" in result.output
    assert provider.messages == {}
    assert_nothing_secret(caplog, [result], wrong)


def test_a_missing_setting_stops_before_anything_is_planned(
    provider: Any, make_book: MakeBook, monkeypatch: pytest.MonkeyPatch
) -> None:
    variable = (
        "KUDEN_XL_KARADEN_SERVICE_ID" if provider.name == "karaden" else "KUDEN_XL_AOS_CLIENT_ID"
    )
    monkeypatch.delenv(variable)
    path = book(make_book)
    before = path.read_bytes()
    result = CliRunner().invoke(cli, ["send", str(path), "--all", "--yes"])
    assert result.exit_code == 2 and variable in result.output
    assert provider.server.seen == [] and path.read_bytes() == before


@pytest.mark.parametrize("name", ["karaden", "aos"])
def test_check_refuses_numbers_the_provider_does_not_accept(
    make_book: MakeBook, monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    """A 14-digit 0200 M2M number is a number (020番号 許可) but neither Karaden's 11 digits nor
    inside AOS's 0[26789]0[1-9]."""
    m2m = "02001234567890"
    path = book(make_book, [mobile(1001), m2m], **{"020番号": "許可"})
    monkeypatch.setenv("KUDEN_XL_PROVIDER", "sandbox")
    ok = CliRunner().invoke(cli, ["check", str(path), "--json"])
    monkeypatch.setenv("KUDEN_XL_PROVIDER", name)
    refused = CliRunner().invoke(cli, ["check", str(path), "--json"])
    assert "ERR_NOT_MOBILE" not in ok.output
    assert refused.output.count("ERR_NOT_MOBILE") == 1, refused.output
    assert "この送信事業者はこの番号に送信できません" in refused.output


def assert_nothing_secret(caplog: pytest.LogCaptureFixture, results: list[Any], token: str) -> None:
    texts = [r.getMessage() for r in caplog.records]
    texts += [r.exc_text or "" for r in caplog.records]
    for result in results:
        texts.append(result.output)
        if result.exception is not None:
            texts.append(repr(result.exception) + str(result.exception))
    assert texts
    for text in texts:
        assert token not in text
        for number in NUMBERS:
            assert number not in text and number[1:] not in text


def test_connection_test_reads_harmlessly_and_sends_nothing(provider: Any) -> None:
    ok = CliRunner().invoke(cli, ["connection", "test"])
    assert ok.exit_code == 0 and "✔ 認証情報" in ok.output, ok.output
    assert provider.messages == {} and all(s.method == "GET" for s in provider.server.seen)


def test_connection_test_says_when_the_token_is_refused(
    provider: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KUDEN_XL_TOKEN", "W" * 32)
    refused = CliRunner().invoke(cli, ["connection", "test"])
    assert refused.exit_code != 0 and "✖ 認証情報" in refused.output
    assert "W" * 32 not in refused.output


def test_config_show_names_each_provider_setting_and_masks_the_token(provider: Any) -> None:
    shown = CliRunner().invoke(cli, ["config", "show"])
    assert shown.exit_code == 0, shown.output
    keys = ["tenant_id", "service_id"] if provider.name == "karaden" else ["client_id", "sms_code"]
    for key in [*keys, "base_url"]:
        assert f"{provider.name}.{key}" in shown.output
    assert TOKENS[provider.name] not in shown.output and "********" in shown.output
