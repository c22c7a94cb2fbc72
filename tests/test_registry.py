"""Choosing the gateway and its connection settings (env > config.toml > default)."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from kuden_xl.errors import SettingsError
from kuden_xl.gateways.http import HttpSettings
from kuden_xl.gateways.registry import open_gateway, provider_name, with_connection_settings

REMOTE = HttpSettings(base_url="https://sms.example.lg.jp/api", token="t")
LOCAL = HttpSettings(base_url="http://127.0.0.1:8765", token="t")


def test_provider_precedence(monkeypatch: pytest.MonkeyPatch) -> None:
    config = {"connection": {"provider": "Karaden"}}
    assert provider_name(None, None, config) == "karaden"
    monkeypatch.setenv("KUDEN_XL_PROVIDER", "aos")
    assert provider_name(None, None, config) == "aos"
    assert provider_name(None, "twilio", config) == "twilio"
    assert provider_name("sandbox", "twilio", config) == "sandbox"
    monkeypatch.delenv("KUDEN_XL_PROVIDER")
    assert provider_name(None, None, {}) == "sandbox"


def test_provider_from_the_users_config_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "config.toml"
    config.write_text('[connection]\nprovider = "karaden"\n', encoding="utf-8")
    monkeypatch.setenv("KUDEN_XL_CONFIG", str(config))
    assert provider_name(None) == "karaden"


def test_lgwan_proxy_and_ca_bundle_from_config_then_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ca = tmp_path / "lgwan-ca.pem"
    ca.write_text("-----BEGIN CERTIFICATE-----\n", encoding="ascii")
    config = {
        "connection": {
            "proxy": "http://proxy.example.lg.jp:8080",
            "ca_bundle": str(ca),
            "read_timeout_s": 7,
        }
    }
    applied = with_connection_settings(REMOTE, config)
    assert applied.proxy == "http://proxy.example.lg.jp:8080"
    assert applied.ca_bundle == str(ca) and applied.read_timeout_s == 7.0
    monkeypatch.setenv("KUDEN_XL_PROXY", "http://other-proxy.example.lg.jp:3128")
    monkeypatch.setenv("KUDEN_XL_READ_TIMEOUT", "4")
    applied = with_connection_settings(REMOTE, config)
    assert (
        applied.proxy == "http://other-proxy.example.lg.jp:3128" and applied.read_timeout_s == 4.0
    )


def test_the_sandbox_on_this_pc_never_uses_the_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KUDEN_XL_PROXY", "http://proxy.example.lg.jp:8080")
    assert with_connection_settings(LOCAL, {}).proxy is None


@pytest.mark.parametrize(
    ("env", "value", "message"),
    [
        ("KUDEN_XL_CA_BUNDLE", "/nowhere/ca.pem", "証明書ファイル"),
        ("KUDEN_XL_CONNECT_TIMEOUT", "0", "正の秒数"),
        ("KUDEN_XL_READ_TIMEOUT", "abc", "正の秒数"),
    ],
)
def test_bad_connection_settings_are_clear_errors(
    monkeypatch: pytest.MonkeyPatch, env: str, value: str, message: str
) -> None:
    monkeypatch.setenv(env, value)
    with pytest.raises(SettingsError, match=message):
        with_connection_settings(REMOTE, {})


def test_unknown_provider_is_a_clear_error() -> None:
    with pytest.raises(SettingsError, match="未対応"):
        with open_gateway("kddi"):
            pass


def test_a_real_provider_without_its_settings_names_the_variables() -> None:
    with pytest.raises(SettingsError, match="KUDEN_XL_KARADEN_TENANT_ID"):
        with open_gateway("karaden"):
            pass


def test_embedded_sandbox_keeps_state_between_runs(tmp_path: Path) -> None:
    """Without a base URL the sandbox starts in-process; a second start sees the first's sends."""
    from kuden_xl.gateways.base import OutgoingMessage

    state = tmp_path / "sandbox.sqlite3"
    with open_gateway("sandbox", state_path=state) as gateway:
        receipt = gateway.send(OutgoingMessage("send-1", "09012341010", "お知らせ"))
        assert receipt.message_id
    with open_gateway("sandbox", state_path=state) as gateway:
        found = gateway.lookup("send-1")
        assert found is not None and found.message_id == receipt.message_id


def test_a_bad_connection_setting_stops_the_embedded_sandbox_it_started(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def sandboxes() -> set[str]:
        return {t.name for t in threading.enumerate() if t.name.startswith("kuden-xl-sandbox:")}

    monkeypatch.delenv("KUDEN_XL_BASE_URL", raising=False)
    monkeypatch.setenv("KUDEN_XL_CA_BUNDLE", str(tmp_path / "missing-ca.pem"))
    before = sandboxes()
    with pytest.raises(SettingsError, match="CA バンドル"):
        with open_gateway("sandbox", state_path=tmp_path / "state.sqlite3"):
            pass
    assert sandboxes() == before  # a long-lived Excel process keeps no orphan server
