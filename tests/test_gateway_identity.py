"""Reconciliation asks only the gateway a send went through (issue 7 item 2, DESIGN §6).

Two real sandbox servers on two ports are two gateways: each knows only its own messages, so
asking B about a send that left through A finds nothing — which must not read as "never sent".
Everything here runs the real CLI in separate processes against both servers.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from collections import Counter
from pathlib import Path

from conftest import MakeBook, StandaloneSandbox
from test_send import BODY, IN_WINDOW, kuden, recipients, results


def _send(
    book: Path, sandbox: StandaloneSandbox, *args: str, read_timeout: str | None = None
) -> subprocess.CompletedProcess[str]:
    env = {"KUDEN_XL_NOW": IN_WINDOW}
    if read_timeout:
        env["KUDEN_XL_READ_TIMEOUT"] = read_timeout
    return kuden("send", str(book), *args, "--yes", "--base-url", sandbox.url, env=env)


def _wait_for(sandbox: StandaloneSandbox, n: int) -> None:
    """The slow sandbox records a message after its latency, maybe after the client gave up."""
    deadline = time.monotonic() + 20
    while len(sandbox.messages()) < n and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(sandbox.messages()) == n


def test_another_gateway_never_settles_or_resends_the_first_ones_sends(
    tmp_path: Path, make_book: MakeBook
) -> None:
    a = StandaloneSandbox(tmp_path / "a.sqlite3", "--latency-ms", "400")
    b = StandaloneSandbox(tmp_path / "b.sqlite3")
    try:
        book = make_book(recipients(5), {"本文": BODY})
        copy = tmp_path / "copy.xlsx"  # the same list before any send: its records are lost
        shutil.copyfile(book, copy)

        # 1. Through A, every answer comes after the client gave up: 4 rows UNKNOWN, all at A.
        first = _send(book, a, "--rows", "2-5", read_timeout="0.1")
        assert first.returncode == 3, first.stderr
        assert [results(book)[r]["結果コード"] for r in (2, 3, 4, 5)] == ["UNKNOWN"] * 4
        _wait_for(a, 4)

        # 2. Through B (another port: another gateway) on the same ledger.
        second = _send(book, b, "--all")
        # 3. The copy, whose rows carry no record, through B, even asking to resend.
        third = _send(copy, b, "--rows", "2-5", "--allow-resend")
        # 4. And the first book through B once more.
        fourth = _send(book, b, "--all")
        for run in (second, third, fourth):
            assert run.returncode != 2, run.stderr

        sent = Counter(m["to"] for m in a.messages() + b.messages())
        twice = sorted(n for n, c in sent.items() if c > 1)
        assert twice == []  # old main: 4 of the 5 numbers got the message twice or more
        assert len(sent) == 5 and len(b.messages()) == 1  # only row 6, never sent through A

        # B reported A's unresolved sends by name (no secret: the sandbox token is not shown).
        assert f"前回 4 件は別の送信先（sandbox {a.url}）で結果不明です" in second.stdout
        assert "sandbox-token" not in second.stdout + second.stderr
        # A's rows keep their UNKNOWN records; the copy's rows were skipped, naming A.
        written = results(book)
        assert [written[r]["結果コード"] for r in (2, 3, 4, 5, 6)] == ["UNKNOWN"] * 4 + ["ACCEPTED"]
        skipped = results(copy)
        for r in (2, 3, 4, 5):
            assert skipped[r]["結果コード"] == "SKIP_RECENT"
            assert f"別の送信先（sandbox {a.url}）" in str(skipped[r]["結果"])

        # 5. Back through A: A finds its own sends and the records are written back.
        fifth = _send(book, a, "--all")
        assert fifth.returncode == 0, fifth.stderr
        settled = results(book)
        assert [settled[r]["結果コード"] for r in (2, 3, 4, 5)] == ["ACCEPTED"] * 4
        by_number = {m["to"]: m["id"] for m in a.messages()}
        assert all(settled[r]["メッセージID"] == by_number[settled[r]["電話番号"]] for r in (2, 3))
        assert Counter(m["to"] for m in a.messages() + b.messages()) == sent  # nothing new
    finally:
        a.stop()
        b.stop()
