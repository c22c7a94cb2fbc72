"""Secrets come from the environment or the OS keyring (a real keyring backend, held in memory)."""

from __future__ import annotations

from collections.abc import Iterator

import keyring
import pytest
from keyring.backend import KeyringBackend

from kuden_xl.credentials import gateway_token
from kuden_xl.errors import SettingsError


class MemoryKeyring(KeyringBackend):
    """A keyring backend kept in memory: the OS keyrings are not there on a CI box."""

    priority = 1  # type: ignore[assignment]

    def __init__(self) -> None:
        super().__init__()
        self.store: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.store.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.store[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        self.store.pop((service, username), None)


@pytest.fixture
def memory_keyring() -> Iterator[MemoryKeyring]:
    previous = keyring.get_keyring()
    backend = MemoryKeyring()
    keyring.set_keyring(backend)
    yield backend
    keyring.set_keyring(previous)


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
