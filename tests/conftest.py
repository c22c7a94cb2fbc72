from __future__ import annotations

import os

# Must happen before the first `import xlwings`: the remote engine registers at import time.
# PolyForm Noncommercial licence, which covers government institutions.
os.environ.setdefault("XLWINGS_LICENSE_KEY", "noncommercial")

from collections.abc import Callable, Iterator, Sequence  # noqa: E402
from dataclasses import replace  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import TYPE_CHECKING, Any  # noqa: E402

import keyring  # noqa: E402
import pytest  # noqa: E402
from keyring.backend import KeyringBackend  # noqa: E402

from kuden_xl.gateways.base import (  # noqa: E402
    Capabilities,
    DeliveryStatus,
    Gateway,
    OutgoingMessage,
    Receipt,
)
from kuden_xl.ledger import Ledger  # noqa: E402
from kuden_xl.sandbox import SandboxServer  # noqa: E402

if TYPE_CHECKING:
    from lgwan_helpers import Pki  # imported in the fixture: lgwan_helpers imports conftest

MakeBook = Callable[..., Path]


def mobile(n: int, prefix: str = "090") -> str:
    """A fictional mobile number in the project's test range 0X0-1234-NNNN."""
    return f"{prefix}1234{n:04d}"


@pytest.fixture(autouse=True)
def clean_environ(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No KUDEN_XL_* from the developer's shell; user data (ledger, config) under tmp_path."""
    import os

    for key in list(os.environ):
        if key.startswith("KUDEN_XL_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("KUDEN_XL_CONFIG", str(tmp_path / "no-config.toml"))
    monkeypatch.setenv("KUDEN_XL_DATA_DIR", str(tmp_path / "userdata"))
    monkeypatch.setenv("KUDEN_XL_LEDGER", str(tmp_path / "userdata" / "ledger.sqlite3"))


@pytest.fixture
def make_book(tmp_path: Path) -> MakeBook:
    """Write a real .xlsx: a recipients sheet from rows (first row = header) and a 設定 sheet."""

    def make(
        rows: Sequence[Sequence[Any]],
        settings: dict[str, Any] | None = None,
        *,
        name: str = "book.xlsx",
        sheet: str = "送信リスト",
        hidden: Sequence[int] = (),
    ) -> Path:
        import openpyxl

        wb = openpyxl.Workbook()
        ws = wb.active
        ws.title = sheet
        for row in rows:
            ws.append(list(row))
        for r in hidden:
            ws.row_dimensions[r].hidden = True
        if settings is not None:
            s = wb.create_sheet("設定")
            s.append(["項目", "値"])
            for key, value in settings.items():
                s.append([key, value])
        path = tmp_path / name
        wb.save(path)
        return path

    return make


@pytest.fixture
def ledger(tmp_path: Path) -> Iterator[Ledger]:
    """A SQLite send ledger of the test's own (not the user-data one clean_environ points at)."""
    with Ledger.open(tmp_path / "ledger.sqlite3") as led:
        yield led


@pytest.fixture(scope="module")
def sandbox() -> Iterator[SandboxServer]:
    """A real sandbox server on 127.0.0.1, shared by a module's tests (a module needing other
    settings, or a server per test, defines its own)."""
    server = SandboxServer(port=0).start()
    yield server
    server.stop()


@pytest.fixture
def sandbox_env(
    clean_environ: None, sandbox: SandboxServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Sends go to ``sandbox`` on a Friday morning (Japan time, in the send window), from
    tmp_path: the workbook lock is keyed on book.fullname, a bare name in the Excel tests."""
    monkeypatch.setenv("KUDEN_XL_BASE_URL", sandbox.url)
    monkeypatch.setenv("KUDEN_XL_NOW", "2026-11-27T10:00:00")
    monkeypatch.chdir(tmp_path)


@pytest.fixture
def no_outside_network_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    """No proxy or CA setting from the shell or CI box: it would change which proxy or CA the
    client uses (without the CA variables, "a CA the client does not know" means one certifi
    lacks)."""
    outside = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY")
    for name in (*outside, "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)


@pytest.fixture(scope="session")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    """The LGWAN tests' private CA and the gateway certificate it signed."""
    from lgwan_helpers import GATEWAY_IP, make_pki

    return make_pki(tmp_path_factory.mktemp("lgwan-pki"), GATEWAY_IP)


class WrappedGateway:
    """A real gateway declaring ``caps`` over its own capabilities: subclasses change ``send``,
    the rest passes through (closing the real gateway is its fixture's job)."""

    def __init__(self, inner: Gateway, **caps: object) -> None:
        self.inner = inner
        self.name = inner.name
        self.identity = inner.identity
        self.capabilities: Capabilities = replace(inner.capabilities, **caps)  # type: ignore[arg-type]

    def send(self, message: OutgoingMessage) -> Receipt:
        return self.inner.send(message)

    def status(self, message_ids: Sequence[str]) -> list[DeliveryStatus]:
        return self.inner.status(message_ids)

    def lookup(self, send_id: str) -> Receipt | None:
        return self.inner.lookup(send_id)

    def close(self) -> None:
        pass


class StandaloneSandbox:
    """``python -m kuden_xl.sandbox`` as a real separate process (``command`` may name the click
    command instead); ``url`` is the address it printed once listening."""

    def __init__(
        self,
        state: Path,
        *extra: str,
        url_prefix: str = "http://127.0.0.1:",
        command: tuple[str, ...] = ("-m", "kuden_xl.sandbox"),
    ):
        import subprocess
        import sys

        self.proc = subprocess.Popen(
            [sys.executable, *command, "--port", "0", "--state", str(state), *extra],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout is not None
        self.url = self.proc.stdout.readline().strip()
        if not self.url.startswith(url_prefix):
            self.stop()  # it printed no URL: it failed to start (its stderr says why)
            raise AssertionError(f"the sandbox did not start: {self.url!r}")
        self.port = int(self.url.rsplit(":", 1)[1])

    def messages(self) -> list[dict[str, Any]]:
        import requests

        data: list[dict[str, Any]] = requests.get(
            f"{self.url}/_sandbox/messages", timeout=10
        ).json()
        return data

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=10)
        if self.proc.stdout:
            self.proc.stdout.close()


@pytest.fixture
def standalone_sandbox(tmp_path: Path):  # type: ignore[no-untyped-def]
    server = StandaloneSandbox(tmp_path / "sandbox-state.sqlite3")
    yield server
    server.stop()


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
