"""``kuden-xl config show``: every connection and provider setting, where it came from, secrets
masked; and ``config init``'s commented template.

Sources, by precedence (DESIGN §3): flag > environment > config file > default; the token comes
from the environment or the OS keyring only and is never shown.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

SOURCES = {
    "flag": "オプション",
    "environment": "環境変数",
    "file": "設定ファイル",
    "default": "既定",
}


@dataclass(frozen=True)
class Shown:
    name: str  # table.key in config.toml
    env: str
    value: str | None
    source: str | None  # a key of SOURCES, "keyring", or None (not set)


CONNECTION: tuple[tuple[str, str, str | None], ...] = (
    ("provider", "KUDEN_XL_PROVIDER", "sandbox"),
    ("base_url", "KUDEN_XL_BASE_URL", None),
    ("proxy", "KUDEN_XL_PROXY", None),
    ("ca_bundle", "KUDEN_XL_CA_BUNDLE", None),
    ("connect_timeout_s", "KUDEN_XL_CONNECT_TIMEOUT", "5"),
    ("read_timeout_s", "KUDEN_XL_READ_TIMEOUT", "2"),
)


def _pick(
    flag: object, env: str, file_value: object, default: str | None
) -> tuple[str | None, str | None]:
    for value, source in (
        (flag, "flag"),
        (os.environ.get(env), "environment"),
        (file_value, "file"),
        (default, "default"),
    ):
        if value is not None and str(value).strip():
            return str(value).strip(), source
    return None, None


def settings(
    provider: str, flags: Mapping[str, str | None], config: Mapping[str, Any]
) -> list[Shown]:
    """The settings ``provider`` runs with: [connection], then the provider's own table."""
    from .credentials import TOKEN_ENV, token_source
    from .gateways.registry import REAL_PROVIDERS

    conn = config.get("connection") or {}
    shown = [
        Shown(f"connection.{key}", env, *_pick(flags.get(key), env, conn.get(key), default))
        for key, env, default in CONNECTION
    ]
    shown = [replace(s, value=_no_password(s.value)) for s in shown]
    if provider in REAL_PROVIDERS:
        module = importlib.import_module(f"kuden_xl.gateways.{REAL_PROVIDERS[provider]}")
        table = config.get(provider) or {}
        for s in getattr(module, "SETTINGS", ()):
            if s.secret:
                continue
            flag = flags.get(s.key) if s.key == "base_url" else None
            shown.append(
                Shown(
                    f"{provider}.{s.key}", s.env, *_pick(flag, s.env, table.get(s.key), s.default)
                )
            )
    source = token_source(provider)
    shown.append(Shown("token", TOKEN_ENV, "********" if source else None, source))
    return shown


def _no_password(value: str | None) -> str | None:
    """A proxy URL's password (``http://user:pass@proxy:8080``) is a secret too."""
    if value is None or "@" not in value or "://" not in value:
        return value
    scheme, rest = value.split("://", 1)
    userinfo, host = rest.rsplit("@", 1)
    return f"{scheme}://{userinfo.split(':', 1)[0]}:********@{host}"


def lines(provider: str, path: str, shown: list[Shown]) -> list[str]:
    out = [f"設定ファイル: {path}", f"送信事業者: {provider}"]
    width = max(len(s.name) for s in shown)
    for s in shown:
        where = {"keyring": "OS の資格情報ストア"}.get(s.source or "", SOURCES.get(s.source or ""))
        value = s.value if s.value is not None else "（未設定）"
        out.append(f"  {s.name:<{width}}  {value}  [{where or '－'}] ({s.env})")
    return out


TEMPLATE = """\
# kuden_xl の設定ファイル（config.toml）。秘密の値（トークン）はここに書かないでください:
# 環境変数 KUDEN_XL_TOKEN か `kuden-xl credentials set <事業者>` で登録します。
# Precedence: command-line flag > environment (KUDEN_XL_*) > this file > default.

[connection]
# provider = "twilio"                          # KUDEN_XL_PROVIDER
# proxy = "http://proxy.example.lg.jp:8080"    # KUDEN_XL_PROXY（LGWAN のプロキシ）
# ca_bundle = 'C:\\kuden\\lgwan-ca.pem'          # KUDEN_XL_CA_BUNDLE（自治体の CA 証明書, PEM）
# connect_timeout_s = 5                        # KUDEN_XL_CONNECT_TIMEOUT
# read_timeout_s = 2                           # KUDEN_XL_READ_TIMEOUT

[campaign]
# window = "09:00-19:00"                       # 送信時間帯

[twilio]
# account_sid = "ACxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"      # KUDEN_XL_TWILIO_ACCOUNT_SID
# from = "+815012345678"                                 # KUDEN_XL_TWILIO_FROM
# messaging_service_sid = "MGxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"  # KUDEN_XL_TWILIO_MESSAGING_SERVICE_SID
"""
