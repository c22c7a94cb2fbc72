"""`kuden-xl config path|show|init` and `kuden-xl credentials set|delete|status PROVIDER`."""

from __future__ import annotations

from pathlib import Path

import keyring
import pytest
from click.testing import CliRunner
from conftest import MemoryKeyring
from keyring.backends.fail import Keyring as FailKeyring
from twilio_stub import ACCOUNT, SERVICE, TOKEN

from kuden_xl.cli import cli


def run(*args: str, stdin: str | None = None) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args), input=stdin)
    return result.exit_code, result.output


def test_config_path_is_the_kuden_xl_config_override(tmp_path: Path) -> None:
    code, out = run("config", "path")
    assert code == 0 and out.strip() == str(tmp_path / "no-config.toml")


def test_config_init_writes_a_template_once(tmp_path: Path) -> None:
    code, out = run("config", "init")
    written = tmp_path / "no-config.toml"
    assert code == 0 and str(written) in out
    text = written.read_text(encoding="utf-8")
    assert "[connection]" in text and "[twilio]" in text and "KUDEN_XL_TOKEN" in text
    code, out = run("config", "init")
    assert code == 2 and "既にあります" in out and written.read_text(encoding="utf-8") == text


def test_config_show_says_where_each_value_came_from_and_masks_secrets(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, memory_keyring: MemoryKeyring
) -> None:
    (tmp_path / "no-config.toml").write_text(
        '[connection]\nprovider = "twilio"\nproxy = "http://city:p4ssw0rd@proxy.lg.jp:8080"\n'
        f'[twilio]\naccount_sid = "{ACCOUNT}"\nfrom = "CITY"\n',
        encoding="utf-8",
    )
    monkeypatch.setenv("KUDEN_XL_TWILIO_MESSAGING_SERVICE_SID", SERVICE)
    monkeypatch.setenv("KUDEN_XL_TOKEN", TOKEN)
    code, out = run("config", "show", "--base-url", "https://api.example.test")
    assert code == 0, out
    lines = {line.split()[0]: line for line in out.splitlines()[2:]}
    assert "[設定ファイル]" in lines["connection.provider"]
    assert "[オプション]" in lines["connection.base_url"]
    assert "[既定]" in lines["connection.read_timeout_s"]
    assert "[設定ファイル]" in lines["twilio.account_sid"]
    assert "[環境変数]" in lines["twilio.messaging_service_sid"]
    assert "********" in lines["token"] and "[環境変数]" in lines["token"]
    assert "city:********@proxy.lg.jp:8080" in lines["connection.proxy"]
    assert TOKEN not in out and "p4ssw0rd" not in out
    monkeypatch.delenv("KUDEN_XL_TOKEN")
    memory_keyring.set_password("kuden_xl", "twilio", TOKEN)
    code, out = run("config", "show")
    assert "OS の資格情報ストア" in out and TOKEN not in out


def test_credentials_set_status_delete(memory_keyring: MemoryKeyring) -> None:
    code, out = run("credentials", "status", "twilio")
    assert code == 3 and "credentials set twilio" in out
    code, out = run("credentials", "set", "twilio", stdin=f"{TOKEN}\n")
    assert code == 0 and TOKEN not in out  # the prompt does not echo
    assert memory_keyring.store[("kuden_xl", "twilio")] == TOKEN
    code, out = run("credentials", "status", "Twilio")
    assert code == 0 and "資格情報ストア" in out and TOKEN not in out
    code, out = run("credentials", "delete", "twilio")
    assert code == 0 and "削除しました" in out and memory_keyring.store == {}
    code, out = run("credentials", "delete", "twilio")
    assert code == 0 and "登録されていません" in out


def test_the_environment_token_wins_and_is_never_shown(
    memory_keyring: MemoryKeyring, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KUDEN_XL_TOKEN", TOKEN)
    code, out = run("credentials", "status", "twilio")
    assert code == 0 and "KUDEN_XL_TOKEN" in out and TOKEN not in out


def test_an_unknown_provider_or_no_keyring_is_one_clear_error() -> None:
    code, out = run("credentials", "set", "nosuch", stdin="x\n")
    assert code == 2 and "nosuch" in out
    previous = keyring.get_keyring()
    keyring.set_keyring(FailKeyring())
    try:
        code, out = run("credentials", "set", "twilio", stdin=f"{TOKEN}\n")
    finally:
        keyring.set_keyring(previous)
    assert code == 2 and "KUDEN_XL_TOKEN" in out and TOKEN not in out
