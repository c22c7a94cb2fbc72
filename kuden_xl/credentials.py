"""Gateway secrets: from the environment or the OS keyring only, never from a workbook or file.

On a staff PC the token lives in Windows Credential Manager, stored once by the person in
charge: ``kuden-xl credentials set <provider>`` (prompted without echo). ``KUDEN_XL_TOKEN`` wins when set (CI,
a service account).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from .errors import SettingsError

SERVICE = "kuden_xl"
TOKEN_ENV = "KUDEN_XL_TOKEN"


def gateway_token(provider: str, *, default: str | None = None) -> str:
    """The provider's API token: ``KUDEN_XL_TOKEN``, else the keyring entry, else ``default``.

    Raises:
        SettingsError: no token anywhere and no default.
    """
    token = os.environ.get(TOKEN_ENV, "").strip()
    if token:
        return token
    stored = _from_keyring(provider)
    if stored:
        return stored
    if default is not None:
        return default
    raise SettingsError(
        f"送信事業者「{provider}」の認証情報（トークン）がありません。情報担当者に、"
        f"環境変数 {TOKEN_ENV} か Windows の資格情報マネージャー（kuden-xl credentials set "
        f"{provider}）への登録を依頼してください。 / No token for {provider}."
    )


def _from_keyring(provider: str) -> str | None:
    try:
        import keyring
        from keyring.errors import KeyringError
    except ImportError:  # pragma: no cover - keyring is a dependency; tolerate a broken install
        return None
    try:
        value = keyring.get_password(SERVICE, provider)
    except (KeyringError, RuntimeError):  # no usable backend (a headless Linux box)
        return None
    return value or None


def token_source(provider: str) -> str | None:
    """Where ``gateway_token`` would read the token from: environment, keyring, or None."""
    if os.environ.get(TOKEN_ENV, "").strip():
        return "environment"
    return "keyring" if _from_keyring(provider) else None


def store_token(provider: str, token: str) -> None:
    """Save the provider's token in the OS keyring (Windows: Credential Manager).

    Raises:
        SettingsError: no usable keyring on this PC, or an empty token.
    """
    if not token.strip():
        raise SettingsError("トークンが空です。 / Empty token.")
    _keyring_call(lambda kr: kr.set_password(SERVICE, provider, token.strip()))


def delete_token(provider: str) -> bool:
    """Remove the provider's token from the keyring; False when there was none."""
    if _from_keyring(provider) is None:
        return False
    _keyring_call(lambda kr: kr.delete_password(SERVICE, provider))
    return True


def _keyring_call(action: Callable[[Any], object]) -> None:
    import keyring
    from keyring.errors import KeyringError

    try:
        action(keyring)
    except (KeyringError, RuntimeError) as exc:
        raise SettingsError(
            f"OS の資格情報ストア（キーリング）を使えません: {type(exc).__name__}。"
            f"環境変数 {TOKEN_ENV} を使ってください。 / No usable keyring."
        ) from exc
