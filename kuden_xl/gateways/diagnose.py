"""The day-one connection test: each hop to the provider checked on its own, nothing sent.

Steps, each ✔ or ✖ with what to fix: settings read, proxy reachable (or the provider, when
there is no proxy), the proxy allows ``CONNECT`` to the provider, the TLS handshake succeeds
with the configured CA bundle, and the provider accepts the credentials (the gateway's
``check_connection``: one harmless authenticated read). After the first ✖ the later steps are
not tried: they could only fail the same way.
"""

from __future__ import annotations

import base64
import socket
import ssl
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

from ..errors import GatewayAuthError, GatewayError, KudenError
from .base import Gateway
from .http import HttpSettings


@dataclass(frozen=True)
class Step:
    name: str
    ok: bool | None  # None: not tried (an earlier step failed) or not needed
    detail: str  # what was checked, or what to fix


@dataclass(frozen=True)
class ConnectionReport:
    provider: str
    steps: tuple[Step, ...]

    @property
    def ok(self) -> bool:
        return all(s.ok is not False for s in self.steps)

    def lines(self) -> list[str]:
        marks = {True: "✔", False: "✖", None: "－"}
        out = [f"接続テスト（{self.provider}）: 送信はしません"]
        out += [f"{marks[s.ok]} {s.name}: {s.detail}" for s in self.steps]
        out.append(
            "すべて成功しました。 / All checks passed."
            if self.ok
            else "✖ の項目を直して、もう一度実行してください。 / Fix the ✖ step and rerun."
        )
        return out


def network_steps(http: HttpSettings) -> list[Step]:
    """Proxy reachable, CONNECT allowed, TLS handshake: the hops below the provider's API."""
    target = urlsplit(http.base_url)
    host = target.hostname or ""
    port = target.port or (443 if target.scheme == "https" else 80)
    if not host:
        return [
            Step(
                "接続先",
                None,
                "この PC 内の練習用の送信先（sandbox）です。ネットワークは使いません",
            )
        ]
    https = target.scheme == "https"
    steps: list[Step] = []
    sock: socket.socket | None = None
    try:
        if http.proxy:
            sock = _via_proxy(http.proxy, host, port, https, http.connect_timeout_s, steps)
        else:
            sock = _direct(host, port, http.connect_timeout_s, steps)
        if sock is None or steps[-1].ok is False:
            return steps
        if not https:  # plain HTTP: no tunnel to ask for, no certificate to check
            name = "CONNECT（トンネル）" if http.proxy else "TLS（証明書）"
            steps.append(Step(name, None, "HTTP のため不要です"))
            return steps
        steps.append(_tls(sock, host, http))
        return steps
    finally:
        if sock is not None:
            sock.close()


def _via_proxy(
    proxy_url: str, host: str, port: int, https: bool, timeout: float, steps: list[Step]
) -> socket.socket | None:
    """Connect to the proxy and, for HTTPS, ask it for a tunnel to ``host``, a Step for each;
    the socket (the caller closes it), or None when the proxy cannot be reached."""
    proxy = urlsplit(proxy_url if "://" in proxy_url else f"http://{proxy_url}")
    # As requests reads it: a proxy URL without a port means its scheme's default.
    proxy_port = proxy.port or (443 if proxy.scheme == "https" else 80)
    where = f"{proxy.hostname}:{proxy_port}"
    try:
        sock = socket.create_connection((proxy.hostname, proxy_port), timeout)
    except OSError as exc:
        steps.append(
            Step(
                "プロキシに接続",
                False,
                f"プロキシ {where} に接続できません（{_why(exc)}）。プロキシのアドレスと"
                "ポート（KUDEN_XL_PROXY または設定ファイルの proxy）を情報担当者に確認"
                "してください。",
            )
        )
        return None
    steps.append(Step("プロキシに接続", True, f"{where} に接続しました"))
    if not https:
        return sock
    refused = _connect(sock, host, port, proxy.username, proxy.password)
    if refused is not None:
        steps.append(Step("CONNECT（トンネル）", False, refused))
    else:
        steps.append(Step("CONNECT（トンネル）", True, f"{host}:{port} への中継が許可されました"))
    return sock


def _direct(host: str, port: int, timeout: float, steps: list[Step]) -> socket.socket | None:
    """Connect to the provider itself (no proxy), with its Step; None when that fails."""
    try:
        sock = socket.create_connection((host, port), timeout)
    except OSError as exc:
        fix = (
            "庁内ネットワーク（LGWAN）ではプロキシの設定（KUDEN_XL_PROXY）が必要なことが"
            "あります。接続先 URL（KUDEN_XL_BASE_URL）も確認してください。"
        )
        steps.append(
            Step("接続先に接続", False, f"{host}:{port} に接続できません（{_why(exc)}）。{fix}")
        )
        return None
    steps.append(Step("接続先に接続", True, f"{host}:{port} に直接接続しました（プロキシなし）"))
    return sock


def credentials_step(gateway: Gateway) -> Step:
    """The provider's harmless read (``Gateway.check_connection``)."""
    name = "認証情報"
    check = getattr(gateway, "check_connection", None)
    if not callable(check):  # a provider module from before the method (see base.Gateway)
        return Step(name, None, f"{gateway.name} は読み取りでの確認に未対応です")
    try:
        check()
    except GatewayAuthError:
        return Step(
            name,
            False,
            "事業者が認証情報を受け付けませんでした。トークン（KUDEN_XL_TOKEN または"
            f" kuden-xl credentials set {gateway.name}）とアカウントの設定を確認してください。",
        )
    except GatewayError as exc:
        return Step(name, False, str(exc))
    return Step(name, True, f"{gateway.identity.label} が認証情報を受け付けました（読み取りのみ）")


def run(
    provider: str,
    opened: AbstractContextManager[Gateway],
    http_settings: Callable[[Gateway], HttpSettings],
) -> ConnectionReport:
    """All steps for ``provider``; entering ``opened`` reads its settings (may raise)."""
    try:
        with opened as gateway:
            steps = [Step("設定", True, f"{gateway.identity.label} の設定を読みました")]
            steps += network_steps(http_settings(gateway))
            if all(s.ok is not False for s in steps):
                steps.append(credentials_step(gateway))
            else:
                steps.append(Step("認証情報", None, "前の項目が失敗したため確認していません"))
    except KudenError as exc:
        return ConnectionReport(provider, (Step("設定", False, str(exc)),))
    return ConnectionReport(provider, tuple(steps))


def _connect(
    sock: socket.socket, host: str, port: int, user: str | None, password: str | None
) -> str | None:
    """Ask the proxy for a tunnel; None when it answers 200, else what to fix."""
    lines = [f"CONNECT {host}:{port} HTTP/1.1", f"Host: {host}:{port}"]
    if user:
        pair = f"{unquote(user)}:{unquote(password or '')}".encode()
        lines.append(f"Proxy-Authorization: Basic {base64.b64encode(pair).decode('ascii')}")
    try:
        sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
        head = b""
        while b"\r\n\r\n" not in head and len(head) < 16384:
            chunk = sock.recv(4096)
            if not chunk:
                break
            head += chunk
    except OSError as exc:
        return f"プロキシが応答しません（{_why(exc)}）。プロキシの設定を確認してください。"
    status_line = head.split(b"\r\n", 1)[0].decode("latin-1")
    parts = status_line.split(" ", 2)
    status = parts[1] if len(parts) > 1 else "?"
    if status == "200":
        return None
    if status == "407":
        return (
            "プロキシが認証を求めています（407）。プロキシの利用者名とパスワードを"
            "KUDEN_XL_PROXY に含めるか（http://利用者名:パスワード@proxy:8080）、情報担当者に"
            "確認してください。"
        )
    return (
        f"プロキシが {host}:{port} への中継を許可しません（{status}）。この接続先を"
        "プロキシの許可リストに追加するよう情報担当者に依頼してください。"
    )


def _tls(sock: socket.socket, host: str, http: HttpSettings) -> Step:
    name = "TLS（証明書）"
    context = ssl.create_default_context(cafile=http.ca_bundle) if http.verify else None
    if context is None:
        return Step(name, None, "証明書の検証を無効にしています（診断用の設定です）")
    try:
        with context.wrap_socket(sock, server_hostname=host) as tls:
            version = tls.version()
    except ssl.SSLCertVerificationError as exc:
        return Step(
            name,
            False,
            f"サーバー証明書を確認できません（{exc.verify_message}）。自治体の CA 証明書"
            "（PEM）を KUDEN_XL_CA_BUNDLE または設定ファイルの ca_bundle に指定してください。",
        )
    except (ssl.SSLError, OSError) as exc:
        return Step(
            name,
            False,
            f"TLS 接続に失敗しました（{_why(exc)}）。CA 証明書とプロキシの設定を確認してください。",
        )
    bundle = f"CA: {http.ca_bundle}" if http.ca_bundle else "OS の標準の CA"
    return Step(name, True, f"{version} で接続しました（{bundle}）")


def _why(exc: BaseException) -> str:
    text = str(exc).splitlines()[0][:160] if str(exc) else ""
    return text or type(exc).__name__
