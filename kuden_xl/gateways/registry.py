"""Choose and open the gateway: ``--provider`` / ``KUDEN_XL_PROVIDER`` / config file / sandbox.

Real providers (``REAL_PROVIDERS``: one module and one line each) read their own settings from
the environment or their table in config.toml (``provider_settings``). ``sandbox`` is the
default: without ``--base-url`` it is started in-process on a free port, its state in the
user's data directory, so ``send``, ``status`` and a rerun after a crash see the same messages.

Connection settings (never from a workbook): CLI > environment > ``[connection]`` in the user's
config.toml > default. On LGWAN the gateway is reached through the municipality's proxy with its
private CA certificates::

    [connection]
    provider = "sandbox"
    proxy = "http://proxy.example.lg.jp:8080"     # KUDEN_XL_PROXY
    ca_bundle = 'C:\\kuden\\lgwan-ca.pem'           # KUDEN_XL_CA_BUNDLE (PEM)
    connect_timeout_s = 5                           # KUDEN_XL_CONNECT_TIMEOUT
    read_timeout_s = 2                              # KUDEN_XL_READ_TIMEOUT

A loopback address (the sandbox) never goes through the proxy.
"""

from __future__ import annotations

import importlib
import os
import re
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..credentials import gateway_token
from ..errors import SettingsError
from ..paths import data_dir, ensure_dir
from .base import Gateway

if TYPE_CHECKING:
    from ..sandbox import SandboxServer
    from .http import HttpSettings

SANDBOX = "sandbox"
# One line per real provider: name -> its module in this package, which has
# ``from_settings(base_url, config) -> Gateway`` and may have ``SETTINGS`` (its named settings,
# for ``config show``) and ``NUMBERS`` (the national numbers it accepts, a compiled pattern, for
# the planner).
REAL_PROVIDERS: dict[str, str] = {
    "twilio": "twilio",
    "karaden": "karaden",
    "aos": "aos",
}
PROVIDERS = (*REAL_PROVIDERS, SANDBOX)


def _connection(config: Mapping[str, Any] | None) -> Mapping[str, Any]:
    from ..config import read_config_file

    data = read_config_file() if config is None else config
    section = data.get("connection") or {}
    return section if isinstance(section, Mapping) else {}


def provider_name(
    cli: str | None, sheet: str | None = None, config: Mapping[str, Any] | None = None
) -> str:
    """CLI > 設定 sheet > environment > config file > sandbox."""
    file_value = _connection(config).get("provider")
    for value in (cli, sheet, os.environ.get("KUDEN_XL_PROVIDER"), file_value):
        if value and str(value).strip():
            return str(value).strip().lower()
    return SANDBOX


@dataclass(frozen=True)
class Setting:
    """One named setting of a provider: its key in the provider's config.toml table and its
    environment variable (``config show`` lists a module's ``SETTINGS``)."""

    key: str
    env: str
    secret: bool = False  # never read from a file (the token: environment or keyring)
    default: str | None = None


def provider_settings(
    provider: str, settings: Sequence[Setting], config: Mapping[str, Any] | None = None
) -> dict[str, str]:
    """A provider's settings: each from its environment variable, else the ``[provider]`` table
    of config.toml, else (``base_url``) ``[connection] base_url``, else its default. Secrets are
    skipped (``credentials.gateway_token`` reads the token).

    Raises:
        SettingsError: one message naming every missing variable.
    """
    from ..config import read_config_file

    data = read_config_file() if config is None else config
    table = data.get(provider) or {}
    table = table if isinstance(table, Mapping) else {}
    values: dict[str, str] = {}
    missing: list[str] = []
    for setting in settings:
        if setting.secret:
            continue
        candidates = [os.environ.get(setting.env), table.get(setting.key)]
        if setting.key == "base_url":
            candidates.append(_connection(data).get("base_url"))
        candidates.append(setting.default)
        value = next((str(c).strip() for c in candidates if c is not None and str(c).strip()), "")
        if value:
            values[setting.key] = value
        else:
            missing.append(setting.env)
    if missing:
        names = "、".join(missing)
        raise SettingsError(
            f"送信事業者「{provider}」の設定 {names} がありません。環境変数か、設定ファイル"
            f"（config.toml）の [{provider}] に登録してください。"
            f" / Missing {provider} setting: {', '.join(missing)}."
        )
    return values


def provider_connection(
    provider: str,
    settings: Sequence[Setting],
    base_url: str | None,
    config: Mapping[str, Any] | None = None,
    *,
    bearer: bool = True,
) -> tuple[dict[str, str], HttpSettings]:
    """A provider's settings (``provider_settings``) and how to reach it (``base_url`` or its
    setting, its token, ``with_connection_settings``), from one reading of config.toml.

    Raises:
        SettingsError: as ``provider_settings`` and ``with_connection_settings``.
    """
    from ..config import read_config_file
    from .http import HttpSettings

    config = read_config_file() if config is None else config
    values = provider_settings(provider, settings, config)
    url = (base_url or values["base_url"]).rstrip("/")
    http = HttpSettings(base_url=url, token=gateway_token(provider), bearer=bearer)
    return values, with_connection_settings(http, config)


def number_rule(provider: str) -> re.Pattern[str] | None:
    """The national numbers ``provider`` accepts (None: any mobile number), for the planner."""
    module = REAL_PROVIDERS.get(provider)
    if module is None:
        return None
    pattern = getattr(importlib.import_module(f".{module}", __package__), "NUMBERS", None)
    return pattern if isinstance(pattern, re.Pattern) else None


def _seconds(env: str, file_value: object, default: float) -> float:
    text = os.environ.get(env, "").strip() or str(file_value or "").strip()
    if not text:
        return default
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if value <= 0:
        raise SettingsError(
            f"{env}（設定ファイルの接続設定）は正の秒数で指定してください（例: 5）。"
            f" / {env} must be seconds > 0."
        )
    return value


def with_connection_settings(
    settings: HttpSettings, config: Mapping[str, Any] | None = None
) -> HttpSettings:
    """Apply proxy, CA bundle and timeouts from the environment or the config file.

    Raises:
        SettingsError: a CA bundle that is not a file, or a timeout that is not positive.
    """
    from .http import is_this_pc

    conn = _connection(config)
    proxy = os.environ.get("KUDEN_XL_PROXY") or conn.get("proxy") or settings.proxy
    if is_this_pc(settings.base_url):
        proxy = None  # the sandbox on this PC: never through the municipality's proxy
    ca_bundle = os.environ.get("KUDEN_XL_CA_BUNDLE") or conn.get("ca_bundle") or settings.ca_bundle
    if ca_bundle and not Path(str(ca_bundle)).is_file():
        raise SettingsError(
            f"証明書ファイル（CA バンドル）「{ca_bundle}」が見つかりません。情報担当者に、"
            "庁内の証明書（PEM 形式）の場所を確認してください。 / CA bundle not found."
        )
    return replace(
        settings,
        proxy=str(proxy) if proxy else None,
        ca_bundle=str(ca_bundle) if ca_bundle else None,
        connect_timeout_s=_seconds(
            "KUDEN_XL_CONNECT_TIMEOUT", conn.get("connect_timeout_s"), settings.connect_timeout_s
        ),
        read_timeout_s=_seconds(
            "KUDEN_XL_READ_TIMEOUT", conn.get("read_timeout_s"), settings.read_timeout_s
        ),
    )


@contextmanager
def open_gateway(
    provider: str, *, base_url: str | None = None, state_path: Path | None = None
) -> Iterator[Gateway]:
    """Open the named provider's gateway (and stop anything started for it afterwards).

    Raises:
        SettingsError: an unknown provider, or a real provider's setting or token missing.
    """
    from ..config import read_config_file

    if provider not in PROVIDERS:
        raise SettingsError(
            f"プロバイダ「{provider}」には未対応です（使えるもの: {'、'.join(PROVIDERS)}）。"
            f" / Unknown provider {provider!r}."
        )
    config = read_config_file()  # once, for the provider's settings and the connection's
    server: SandboxServer | None = None
    if provider in REAL_PROVIDERS:
        module = importlib.import_module(f".{REAL_PROVIDERS[provider]}", __package__)
        gateway: Gateway = module.from_settings(base_url, config)
    else:
        gateway, server = _sandbox(base_url, state_path, config)
    try:
        yield gateway
    finally:
        gateway.close()
        if server is not None:
            server.stop()


def _sandbox(
    base_url: str | None, state_path: Path | None, config: Mapping[str, Any]
) -> tuple[Gateway, SandboxServer | None]:
    """The sandbox at ``base_url`` (else KUDEN_XL_BASE_URL, else the config file's), or one
    started in-process on its state file; the server to stop afterwards (None: not ours)."""
    from ..sandbox import DEFAULT_TOKEN
    from .http import HttpSettings
    from .sandbox import SandboxGateway, embedded_identity, settings_for, start_embedded

    base_url = (
        base_url or os.environ.get("KUDEN_XL_BASE_URL") or _connection(config).get("base_url")
    )
    if base_url:
        token = gateway_token(SANDBOX, default=DEFAULT_TOKEN)
        settings = HttpSettings(base_url=base_url.rstrip("/"), token=token)
        return SandboxGateway(with_connection_settings(settings, config)), None
    state_path = state_path or ensure_dir(data_dir()) / "sandbox-state.sqlite3"
    server = start_embedded(state_path)
    try:
        settings = with_connection_settings(settings_for(server), config)
    except BaseException:  # a bad [connection] setting: the server just started is ours to stop
        server.stop()
        raise
    return SandboxGateway(settings, identity=embedded_identity(state_path)), server
