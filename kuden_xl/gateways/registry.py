"""Choose and open the gateway: ``--provider`` / ``KUDEN_XL_PROVIDER`` / config file / sandbox.

Until real providers are configured, ``sandbox`` is the only one: without ``--base-url`` it is
started in-process on a free port, its state in the user's data directory, so ``send``,
``status`` and a rerun after a crash see the same messages.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..credentials import gateway_token
from ..errors import SettingsError
from ..paths import data_dir
from .base import Gateway

if TYPE_CHECKING:
    from .http import HttpSettings

SANDBOX = "sandbox"
PROVIDERS = (SANDBOX,)


def provider_name(
    cli: str | None, sheet: str | None = None, config: Mapping[str, Any] | None = None
) -> str:
    """CLI > 設定 sheet > environment > config file > sandbox."""
    file_value = ((config or {}).get("connection") or {}).get("provider")
    for value in (cli, sheet, os.environ.get("KUDEN_XL_PROVIDER"), file_value):
        if value and str(value).strip():
            return str(value).strip().lower()
    return SANDBOX


def _seconds(env: str, default: float) -> float:
    text = os.environ.get(env, "").strip()
    if not text:
        return default
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if value <= 0:
        raise SettingsError(
            f"{env} は正の秒数で指定してください（例: 5）。 / {env} must be seconds > 0."
        )
    return value


def with_client_timeouts(settings: HttpSettings) -> HttpSettings:
    """Apply ``KUDEN_XL_CONNECT_TIMEOUT`` / ``KUDEN_XL_READ_TIMEOUT`` (seconds) when set."""
    return replace(
        settings,
        connect_timeout_s=_seconds("KUDEN_XL_CONNECT_TIMEOUT", settings.connect_timeout_s),
        read_timeout_s=_seconds("KUDEN_XL_READ_TIMEOUT", settings.read_timeout_s),
    )


@contextmanager
def open_gateway(
    provider: str, *, base_url: str | None = None, state_path: Path | None = None
) -> Iterator[Gateway]:
    """Open the named provider's gateway (and stop anything started for it afterwards).

    Raises:
        SettingsError: an unknown provider.
    """
    if provider != SANDBOX:
        raise SettingsError(
            f"プロバイダ「{provider}」には未対応です（使えるもの: {'、'.join(PROVIDERS)}）。"
            f" / Unknown provider {provider!r}."
        )
    from ..sandbox import DEFAULT_TOKEN
    from .http import HttpSettings
    from .sandbox import SandboxGateway, settings_for, start_embedded

    base_url = base_url or os.environ.get("KUDEN_XL_BASE_URL") or None
    if base_url:
        token = gateway_token(provider, default=DEFAULT_TOKEN)
        gateway = SandboxGateway(
            with_client_timeouts(HttpSettings(base_url=base_url.rstrip("/"), token=token))
        )
        try:
            yield gateway
        finally:
            gateway.close()
        return
    server = start_embedded(state_path or data_dir() / "sandbox-state.sqlite3")
    gateway = SandboxGateway(with_client_timeouts(settings_for(server)))
    try:
        yield gateway
    finally:
        gateway.close()
        server.stop()
