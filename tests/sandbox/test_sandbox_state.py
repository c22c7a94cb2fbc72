"""The sandbox's state file: restarts, a SIGKILLed standalone server, the subprocess entry."""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import requests

from kuden_xl.errors import SettingsError
from kuden_xl.gateways.base import Attempt
from kuden_xl.gateways.http import HttpSettings
from kuden_xl.gateways.sandbox import SandboxGateway
from kuden_xl.sandbox import SandboxServer

from .sandbox_helpers import AUTH, READ_TIMEOUT_S, accepted, number, outgoing

REPO = Path(__file__).resolve().parents[2]


def test_restart_keeps_messages_keys_and_fault_marks(
    tmp_path: Path,
    make_server: Callable[..., SandboxServer],
    make_gateway: Callable[..., SandboxGateway],
) -> None:
    state = tmp_path / "sandbox.sqlite"
    server = make_server(state_path=state)
    gateway = make_gateway(server)
    sent = outgoing(number(5678))
    throttled = outgoing(number(5603))
    first = gateway.send(sent)
    assert gateway.send(throttled).attempt is Attempt.NOT_PROCESSED
    server.stop()

    restarted = make_server(state_path=state)
    again = make_gateway(restarted)

    assert [m["id"] for m in accepted(restarted)] == [first.message_id]
    assert again.send(sent).message_id == first.message_id  # same key, same answer
    assert again.send(throttled).attempt is Attempt.ACCEPTED  # its fault already fired
    assert len(accepted(restarted)) == 2


def test_without_a_state_path_nothing_survives(
    make_server: Callable[..., SandboxServer], make_gateway: Callable[..., SandboxGateway]
) -> None:
    server = make_server()
    make_gateway(server).send(outgoing(number(5678)))
    server.stop()

    assert accepted(make_server()) == []


def test_a_file_that_is_not_sqlite_is_a_settings_error(tmp_path: Path) -> None:
    state = tmp_path / "state.sqlite"
    state.write_text("これはデータベースではありません" * 100, encoding="utf-8")

    with pytest.raises(SettingsError, match="状態ファイル"):
        SandboxServer(state_path=state)


def test_a_port_in_use_is_a_settings_error(server: SandboxServer) -> None:
    with pytest.raises(SettingsError, match=str(server.port)):
        SandboxServer(port=server.port)


def _start(state: Path, *extra: str) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "kuden_xl.sandbox", "--port", "0", "--state", str(state), *extra],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert proc.stdout is not None
    line: list[str] = []
    reader = threading.Thread(target=lambda: line.append(proc.stdout.readline()))  # type: ignore[union-attr]
    reader.start()
    reader.join(timeout=20)
    if not line or not line[0].startswith("http://127.0.0.1:"):
        proc.kill()
        proc.wait()
        pytest.fail(f"the sandbox did not print its URL: {line!r}")
    return proc, line[0].strip()


@pytest.fixture
def processes() -> Iterator[list[subprocess.Popen[str]]]:
    started: list[subprocess.Popen[str]] = []
    yield started
    for proc in started:
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        if proc.stdout:
            proc.stdout.close()


def test_sigkilled_server_keeps_what_it_recorded(
    tmp_path: Path,
    processes: list[subprocess.Popen[str]],
    make_server: Callable[..., SandboxServer],
    make_gateway: Callable[..., SandboxGateway],
) -> None:
    state = tmp_path / "sandbox.sqlite"
    proc, url = _start(state, "--slow-s", "30")
    processes.append(proc)
    assert url != "http://127.0.0.1:0"
    gateway = SandboxGateway(HttpSettings(url, "sandbox-token", read_timeout_s=READ_TIMEOUT_S))
    try:
        receipts = [gateway.send(outgoing(number(5670 + i))) for i in range(3)]
        slow = outgoing(number(5605))
        # Recorded, then the server sleeps before answering: killed mid-request.
        assert gateway.send(slow).attempt is Attempt.MAYBE_PROCESSED
    finally:
        gateway.close()

    proc.kill()  # SIGKILL: no handler, no cleanup
    assert proc.wait(timeout=10) == -signal.SIGKILL

    restarted = make_server(state_path=state)
    keys = [m["idempotency_key"] for m in accepted(restarted)]
    assert keys == [r.send_id for r in receipts] + [slow.send_id]
    again = make_gateway(restarted)
    assert again.send(slow).attempt is Attempt.ACCEPTED
    assert len(accepted(restarted)) == 4


def test_subprocess_stops_cleanly_on_sigterm(
    tmp_path: Path, processes: list[subprocess.Popen[str]]
) -> None:
    proc, url = _start(tmp_path / "sandbox.sqlite")
    processes.append(proc)
    answer = requests.post(
        url + "/v1/messages",
        json={"to": number(5678), "body": "x"},
        headers={**AUTH, "Idempotency-Key": "k"},
        timeout=5,
    )
    assert answer.status_code == 201

    proc.terminate()

    assert proc.wait(timeout=10) == 0
