"""`kuden-xl connection test`: the LGWAN path (authenticating CONNECT proxy, private-CA HTTPS on
127.0.0.2) step by step, and each failure — dead proxy, refused tunnel, wrong CA, refused
credentials — as ✖ with the fix. Nothing is sent."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import MakeBook, mobile
from lgwan_helpers import GATEWAY_IP, ConnectProxy, Pki, TlsSandbox, closed_port, make_pki
from twilio_stub import ACCOUNT, TOKEN, TwilioStub

from kuden_xl import jobs
from kuden_xl.cli import cli

pytestmark = pytest.mark.usefixtures("no_outside_network_settings")


@pytest.fixture(scope="module")
def gateway(pki: Pki, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TlsSandbox]:
    server = TlsSandbox(pki, tmp_path_factory.mktemp("gw") / "gateway-state.sqlite3")
    yield server
    server.stop()


def lgwan(monkeypatch: pytest.MonkeyPatch, proxy_url: str, ca: Path) -> None:
    monkeypatch.setenv("KUDEN_XL_PROXY", proxy_url)
    monkeypatch.setenv("KUDEN_XL_CA_BUNDLE", str(ca))


def marks(report: jobs.ConnectionReport) -> list[tuple[str, bool | None]]:
    return [(s.name, s.ok) for s in report.steps]


def test_every_step_passes_through_the_proxy_with_the_private_ca(
    gateway: TlsSandbox, pki: Pki, monkeypatch: pytest.MonkeyPatch
) -> None:
    with ConnectProxy() as proxy:
        lgwan(monkeypatch, proxy.url, pki.ca)
        report = jobs.connection_test("sandbox", base_url=gateway.url)
        assert marks(report) == [
            ("設定", True),
            ("プロキシに接続", True),
            ("CONNECT（トンネル）", True),
            ("TLS（証明書）", True),
            ("認証情報", True),
        ]
        port = gateway.url.rsplit(":", 1)[1]
        # The tunnel step, then the credentials read through requests: both via the proxy.
        assert proxy.connects == [f"CONNECT {GATEWAY_IP}:{port}"] * 2
    assert report.ok and gateway.messages() == []  # nothing sent


def test_a_dead_proxy_says_to_check_the_proxy_setting(
    gateway: TlsSandbox, pki: Pki, monkeypatch: pytest.MonkeyPatch
) -> None:
    lgwan(monkeypatch, f"http://127.0.0.1:{closed_port()}", pki.ca)
    report = jobs.connection_test("sandbox", base_url=gateway.url)
    assert marks(report)[1:] == [("プロキシに接続", False), ("認証情報", None)]
    assert "KUDEN_XL_PROXY" in report.steps[1].detail and not report.ok


@pytest.mark.parametrize(("status", "fix"), [(407, "認証"), (403, "許可リスト")])
def test_a_refused_tunnel_names_the_fix(
    gateway: TlsSandbox, pki: Pki, monkeypatch: pytest.MonkeyPatch, status: int, fix: str
) -> None:
    with ConnectProxy(refuse=status) as proxy:
        lgwan(monkeypatch, proxy.url, pki.ca)
        report = jobs.connection_test("sandbox", base_url=gateway.url)
    assert marks(report)[1:3] == [("プロキシに接続", True), ("CONNECT（トンネル）", False)]
    assert str(status) in report.steps[2].detail and fix in report.steps[2].detail


def test_a_wrong_ca_bundle_fails_the_handshake_naming_the_setting(
    gateway: TlsSandbox, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    other = make_pki(tmp_path, GATEWAY_IP)  # a CA that did not sign the gateway's certificate
    with ConnectProxy() as proxy:
        lgwan(monkeypatch, proxy.url, other.ca)
        report = jobs.connection_test("sandbox", base_url=gateway.url)
    assert marks(report)[3] == ("TLS（証明書）", False)
    assert "KUDEN_XL_CA_BUNDLE" in report.steps[3].detail
    assert marks(report)[4] == ("認証情報", None)


def test_refused_credentials_say_which_token_to_fix(
    gateway: TlsSandbox, pki: Pki, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KUDEN_XL_TOKEN", "not-the-token")
    with ConnectProxy() as proxy:
        lgwan(monkeypatch, proxy.url, pki.ca)
        report = jobs.connection_test("sandbox", base_url=gateway.url)
    assert marks(report)[4] == ("認証情報", False)
    assert "KUDEN_XL_TOKEN" in report.steps[4].detail
    assert "not-the-token" not in "\n".join(report.lines())


def test_the_cli_reports_each_step_and_exits_non_zero_on_a_failure(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with TwilioStub() as stub:
        monkeypatch.setenv("KUDEN_XL_TWILIO_ACCOUNT_SID", ACCOUNT)
        monkeypatch.setenv("KUDEN_XL_TWILIO_FROM", "CITY")
        monkeypatch.setenv("KUDEN_XL_TOKEN", TOKEN)
        ok = CliRunner().invoke(
            cli, ["connection", "test", "--provider", "twilio", "--base-url", stub.url]
        )
        assert ok.exit_code == 0, ok.output
        assert "✔ 認証情報" in ok.output and "✔ 接続先に接続" in ok.output
        assert [r[:2] for r in stub.requests] == [("GET", f"/2010-04-01/Accounts/{ACCOUNT}.json")]
        monkeypatch.setenv("KUDEN_XL_TOKEN", "wrong")
        refused = CliRunner().invoke(
            cli, ["connection", "test", "--provider", "twilio", "--base-url", stub.url]
        )
        assert refused.exit_code != 0 and "✖ 認証情報" in refused.output
        assert stub.messages == []
    assert TOKEN not in ok.output + refused.output


def test_twilio_over_lgwan_sends_and_tests_through_the_proxy_with_the_private_ca(
    pki: Pki, make_book: MakeBook, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One real provider on the LGWAN path, configured only through the environment."""
    with TwilioStub(host=GATEWAY_IP, tls=(pki.cert, pki.key)) as stub, ConnectProxy() as proxy:
        env = {
            "KUDEN_XL_PROVIDER": "twilio",
            "KUDEN_XL_BASE_URL": stub.url,
            "KUDEN_XL_TWILIO_ACCOUNT_SID": ACCOUNT,
            "KUDEN_XL_TWILIO_FROM": "CITY",
            "KUDEN_XL_TOKEN": TOKEN,
            "KUDEN_XL_PROXY": proxy.url,
            "KUDEN_XL_CA_BUNDLE": str(pki.ca),
            "KUDEN_XL_NOW": "2026-11-27T10:00:00",
        }
        tested = kuden("connection", "test", env=env)
        assert tested.returncode == 0, tested.stdout + tested.stderr
        for step in ("プロキシに接続", "CONNECT（トンネル）", "TLS（証明書）", "認証情報"):
            assert f"✔ {step}" in tested.stdout
        book = make_book([["氏名", "電話番号"], ["住民", mobile(7001)]], {"本文": "お知らせです"})
        sent = kuden("send", str(book), "--all", "--yes", env=env)
        assert sent.returncode == 0, sent.stderr
        assert [m["to"] for m in stub.messages] == ["+819012347001"]
        port = stub.url.rsplit(":", 1)[1]
        assert set(proxy.connects) == {f"CONNECT {GATEWAY_IP}:{port}"}
        monkeypatch.setenv("KUDEN_XL_TOKEN", "refused")
        refused = kuden("connection", "test", env={**env, "KUDEN_XL_TOKEN": "refused"})
        assert refused.returncode == 3 and "✖ 認証情報" in refused.stdout
    assert TOKEN not in tested.stdout + sent.stdout + sent.stderr + refused.stdout


def kuden(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "kuden_xl", *args],
        capture_output=True,
        text=True,
        encoding="utf-8",
        env={**os.environ, **env},
        stdin=subprocess.DEVNULL,
        timeout=120,
    )


def test_a_gateway_without_check_connection_is_not_tried() -> None:
    from kuden_xl.gateways.diagnose import credentials_step

    class Older:
        name = "older"

    step = credentials_step(Older())  # type: ignore[arg-type]
    assert step.ok is None and "未対応" in step.detail
