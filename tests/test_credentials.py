"""Secrets come from the environment or the OS keyring (a real keyring backend, held in memory)."""

from __future__ import annotations

import keyring
import pytest
from conftest import MemoryKeyring

from kuden_xl.credentials import gateway_token
from kuden_xl.errors import SettingsError


def test_environment_wins(memory_keyring: MemoryKeyring, monkeypatch: pytest.MonkeyPatch) -> None:
    keyring.set_password("kuden_xl", "karaden", "from-keyring")
    monkeypatch.setenv("KUDEN_XL_TOKEN", "from-env")
    assert gateway_token("karaden") == "from-env"


def test_keyring_when_no_environment(memory_keyring: MemoryKeyring) -> None:
    keyring.set_password("kuden_xl", "karaden", "from-keyring")
    assert gateway_token("karaden") == "from-keyring"


def test_missing_token_says_where_to_put_it(memory_keyring: MemoryKeyring) -> None:
    with pytest.raises(SettingsError, match="KUDEN_XL_TOKEN") as err:
        gateway_token("aos")
    assert "資格情報マネージャー" in str(err.value)
    assert gateway_token("sandbox", default="sandbox-token") == "sandbox-token"
