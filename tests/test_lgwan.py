"""The LGWAN path end to end: `kuden-xl` → the municipality's proxy (CONNECT) → HTTPS gateway
signed by a private CA. Real processes and sockets, all on 127.0.0.0/8: the gateway is the
sandbox on 127.0.0.2 (not loopback to the client, so the proxy is really used)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openpyxl
import pytest
import requests
from conftest import MakeBook, mobile
from lgwan_helpers import GATEWAY_IP, ConnectProxy, Pki, TlsSandbox, closed_port

from kuden_xl.errors import SettingsError
from kuden_xl.sandbox import SandboxServer
from kuden_xl.sandbox.state import SandboxState

IN_WINDOW = "2026-11-27T10:00:00"  # a Friday morning, Japan time
BODY = "【○○市】{氏名}様 お知らせです"
EMBEDDED_STATE = "sandbox-state.sqlite3"  # the CLI's in-process sandbox, in the user data dir
NUMBERS = [mobile(2310 + i) for i in range(3)]  # last two digits 10–12: no sandbox fault
pytestmark = pytest.mark.usefixtures("no_outside_network_settings")


@pytest.fixture
def gateway(pki: Pki, tmp_path: Path) -> Iterator[TlsSandbox]:
    server = TlsSandbox(pki, tmp_path / "gateway-state.sqlite3")
    yield server
    server.stop()


@pytest.fixture
def proxy() -> Iterator[ConnectProxy]:
    with ConnectProxy() as running:
        yield running


def kuden(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "kuden_xl", *args],
        capture_output=True,
        text=True,
        encoding="utf-8",
        env={**os.environ, "KUDEN_XL_NOW": IN_WINDOW, **env},
        stdin=subprocess.DEVNULL,
        timeout=60,
    )


def book_of(make_book: MakeBook) -> Path:
    rows = [["氏名", "電話番号"]] + [[f"住民{i}", n] for i, n in enumerate(NUMBERS)]
    return make_book(rows, {"本文": BODY})


def sheet_rows(path: Path) -> list[dict[str, Any]]:
    ws = openpyxl.load_workbook(path)["送信リスト"]
    header = [c.value for c in ws[1]]
    return [
        dict(zip(header, row, strict=False)) for row in ws.iter_rows(min_row=2, values_only=True)
    ]


def lgwan_env(proxy_url: str, pki: Pki | None) -> dict[str, str]:
    env = {"KUDEN_XL_PROXY": proxy_url}
    if pki is not None:
        env["KUDEN_XL_CA_BUNDLE"] = str(pki.ca)
    return env


def test_send_and_status_through_the_proxy_with_the_private_ca(
    make_book: MakeBook, gateway: TlsSandbox, proxy: ConnectProxy, pki: Pki
) -> None:
    book = book_of(make_book)
    env = lgwan_env(proxy.url, pki)

    run = kuden("send", str(book), "--all", "--yes", "--json", "--base-url", gateway.url, env=env)

    assert run.returncode == 0, run.stderr
    rows = json.loads(run.stdout)
    assert [r["code"] for r in rows] == ["ACCEPTED"] * len(NUMBERS)
    sent = gateway.messages()
    assert Counter(m["to"] for m in sent) == Counter(NUMBERS)  # each number exactly once
    assert {r["message_id"] for r in rows} == {m["id"] for m in sent}
    tunnel = f"CONNECT {GATEWAY_IP}:{gateway.port}"
    assert proxy.connects and set(proxy.connects) == {tunnel}
    through_proxy = len(proxy.connects)

    status = kuden("status", str(book), "--json", "--base-url", gateway.url, env=env)

    assert status.returncode == 0, status.stderr
    assert json.loads(status.stdout)["counts"] == {"配信済": len(NUMBERS)}
    written = sheet_rows(book)
    assert [r["結果コード"] for r in written] == ["ACCEPTED"] * len(NUMBERS)
    assert [r["配信結果"] for r in written] == ["配信済"] * len(NUMBERS)
    assert len(proxy.connects) > through_proxy and set(proxy.connects) == {tunnel}


def test_unknown_private_ca_stops_the_run_naming_the_ca_bundle_setting(
    make_book: MakeBook, pki: Pki, proxy: ConnectProxy, tmp_path: Path
) -> None:
    # Started through the click command, to cover its --host / --tls-cert / --tls-key.
    command = ("-m", "kuden_xl", "sandbox", "serve")
    gateway = TlsSandbox(pki, tmp_path / "gateway-state.sqlite3", command)
    try:
        book = book_of(make_book)
        args = ["send", str(book), "--all", "--yes", "--json", "--base-url", gateway.url]

        run = kuden(*args, env=lgwan_env(proxy.url, None))

        assert run.returncode == 2, run.stdout
        assert run.stdout == "" and "Traceback" not in run.stderr
        assert "エラー: SMS事業者とのTLS（SSL）接続を確立できません。" in run.stderr
        assert "KUDEN_XL_CA_BUNDLE または設定ファイルの ca_bundle" in run.stderr
        assert "unable to get local issuer certificate" in run.stderr  # the cause, not cut off
        assert gateway.messages() == []
        # The tunnel was made; TLS failed inside it, and no message was tried twice.
        assert set(proxy.connects) == {f"CONNECT {GATEWAY_IP}:{gateway.port}"}
        assert len(proxy.connects) <= len(NUMBERS)
        written = sheet_rows(book)
        assert {r["結果コード"] for r in written} <= {"GATEWAY_ERROR", None}
        assert all(
            "接続できないため送信を中止しました" in r["結果"]
            for r in written
            if r["結果コード"] == "GATEWAY_ERROR"
        )

        # With the CA bundle set, the same workbook goes out, each number once.
        fixed = kuden(*args, env=lgwan_env(proxy.url, pki))

        assert fixed.returncode == 0, fixed.stderr
        assert [r["code"] for r in json.loads(fixed.stdout)] == ["ACCEPTED"] * len(NUMBERS)
        assert Counter(m["to"] for m in gateway.messages()) == Counter(NUMBERS)
    finally:
        gateway.stop()


@pytest.mark.parametrize("refusal", ["closed-port", "407"])
def test_unreachable_or_refusing_proxy_sends_nothing_and_says_so(
    make_book: MakeBook, gateway: TlsSandbox, pki: Pki, refusal: str
) -> None:
    book = book_of(make_book)
    refusing = ConnectProxy(refuse=407) if refusal == "407" else None
    try:
        proxy_url = refusing.url if refusing else f"http://127.0.0.1:{closed_port()}"

        run = kuden(
            "send",
            str(book),
            "--all",
            "--yes",
            "--base-url",
            gateway.url,
            env=lgwan_env(proxy_url, pki),
        )

        # No message can pass a dead or refusing proxy: the run stops at once (exit 2) with a
        # message naming the proxy setting; nothing reached the gateway; nothing was retried.
        assert run.returncode == 2, run.stdout
        assert "プロキシ" in run.stderr and "KUDEN_XL_PROXY" in run.stderr
        assert "Traceback" not in run.stderr
        assert gateway.messages() == []
        written = sheet_rows(book)
        assert all(r["結果コード"] in (None, "GATEWAY_ERROR") for r in written)
        if refusing:
            assert len(refusing.connects) <= len(NUMBERS)  # at most one attempt per row
    finally:
        if refusing:
            refusing.close()


@pytest.mark.parametrize("where", ["embedded", "standalone-127.0.0.1"])
def test_the_sandbox_on_this_pc_ignores_every_proxy_setting(
    make_book: MakeBook, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, where: str
) -> None:
    dead = f"http://127.0.0.1:{closed_port()}"
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"):
        monkeypatch.setenv(name, dead)
    book = book_of(make_book)
    args = ["send", str(book), "--all", "--yes", "--json"]
    local: SandboxServer | None = None
    if where != "embedded":
        local = SandboxServer(state_path=tmp_path / "local-state.sqlite3").start()
        args += ["--base-url", local.url]
    try:
        run = kuden(*args, env={"KUDEN_XL_PROXY": dead})

        assert run.returncode == 0, run.stderr
        assert [r["code"] for r in json.loads(run.stdout)] == ["ACCEPTED"] * len(NUMBERS)
        if local is None:  # the CLI's own sandbox has stopped; its state file remains
            embedded = SandboxState(tmp_path / "userdata" / EMBEDDED_STATE)
            received = [m.to for m in embedded.messages()]
            embedded.close()
        else:
            received = [m.to for m in local.state.messages()]
        assert Counter(received) == Counter(NUMBERS)
    finally:
        if local is not None:
            local.stop()


def test_kuden_proxy_setting_wins_over_https_proxy_in_the_environment(
    make_book: MakeBook, gateway: TlsSandbox, proxy: ConnectProxy, pki: Pki
) -> None:
    with ConnectProxy(refuse=403) as system_proxy:
        env = {**lgwan_env(proxy.url, pki), "HTTPS_PROXY": system_proxy.url}

        run = kuden(
            "send",
            str(book_of(make_book)),
            "--all",
            "--yes",
            "--json",
            "--base-url",
            gateway.url,
            env=env,
        )

        assert run.returncode == 0, run.stderr
        assert system_proxy.connects == []
        assert proxy.connects and Counter(m["to"] for m in gateway.messages()) == Counter(NUMBERS)


def test_tls_handshake_of_a_silent_client_blocks_no_one(pki: Pki, tmp_path: Path) -> None:
    server = SandboxServer(
        state_path=tmp_path / "state.sqlite3", host=GATEWAY_IP, tls_cert=pki.cert, tls_key=pki.key
    ).start()
    silent = socket.create_connection((GATEWAY_IP, server.port))  # connects, never says hello
    try:
        assert server.url == f"https://{GATEWAY_IP}:{server.port}"
        started = time.monotonic()
        try:
            answer = requests.get(f"{server.url}/_sandbox/messages", verify=str(pki.ca), timeout=2)
        except requests.RequestException:
            silent.close()  # a server stuck in the handshake could not stop otherwise
            raise
        assert answer.status_code == 200 and answer.json() == []
        assert time.monotonic() - started < 1.0
    finally:
        started = time.monotonic()
        server.stop()  # also ends the silent client's handshake
        stop_took = time.monotonic() - started
        silent.close()
    assert stop_took < 2.0


def test_tls_needs_a_loadable_certificate_and_key(pki: Pki, tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="--tls-key"):
        SandboxServer(state_path=tmp_path / "a.sqlite3", tls_cert=pki.cert)
    with pytest.raises(SettingsError, match="証明書"):
        SandboxServer(
            state_path=tmp_path / "b.sqlite3", tls_cert=tmp_path / "no.pem", tls_key=pki.key
        )
