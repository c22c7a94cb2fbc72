"""A job that writes a workbook holds its lock itself, also for a Python caller that brings its
own gateway and ledger (no ``connect`` around it): two such sends on one workbook cannot both run.

The real sandbox server, a real workbook and SQLite ledgers. No timing: the send that holds the
lock waits in its ``confirm`` until the other has been refused, so both try while one holds it.
"""

from __future__ import annotations

import threading
from collections import Counter
from contextlib import ExitStack
from pathlib import Path

import openpyxl
import pytest
from conftest import MakeBook, StandaloneSandbox, mobile

from kuden_xl import jobs
from kuden_xl.books.xlsx import XlsxTable
from kuden_xl.errors import WorkbookLockedError
from kuden_xl.gateways.registry import open_gateway
from kuden_xl.ledger import Ledger, default_ledger_path
from kuden_xl.plan import SendPlan

IN_WINDOW = "2026-11-27T10:00:00"  # a Friday morning, Japan time
NUMBERS = [mobile(1010 + i) for i in range(6)]  # tails 10–99: no sandbox fault
WAIT_S = 20  # only reached when both sends run at once (the bug): then the test fails


def test_two_sends_with_their_own_gateway_and_ledger_cannot_both_run(
    make_book: MakeBook, standalone_sandbox: StandaloneSandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KUDEN_XL_NOW", IN_WINDOW)
    book = make_book(
        [["氏名", "電話番号"], *([f"住民{n}", n] for n in NUMBERS)], {"本文": "お知らせ"}
    )
    holds = threading.Event()  # one send holds the lock and waits in its confirm
    refused = threading.Event()  # the other send was refused
    go_on = threading.Event()  # the holder may send
    asked: list[str] = []
    sent: list[jobs.SendOutcome] = []
    errors: list[WorkbookLockedError] = []

    def confirm(name: str, plan: SendPlan) -> bool:
        asked.append(name)
        holds.set()
        return go_on.wait(WAIT_S)

    def caller(name: str, stack: ExitStack) -> threading.Thread:
        # Each caller opens its own gateway and ledger (the same ledger file), as two scripts would.
        gateway = stack.enter_context(open_gateway("sandbox", base_url=standalone_sandbox.url))
        ledger = stack.enter_context(Ledger.open(default_ledger_path(sandbox=True)))

        def run() -> None:
            try:
                sent.append(
                    jobs.send(
                        XlsxTable(book),
                        gateway,
                        ledger,
                        rows=None,
                        confirm=lambda plan: confirm(name, plan),
                    )
                )
            except WorkbookLockedError as exc:
                errors.append(exc)
                refused.set()

        return threading.Thread(target=run, name=name)

    with ExitStack() as stack:
        threads = [caller("first", stack), caller("second", stack)]
        third = stack.enter_context(open_gateway("sandbox", base_url=standalone_sandbox.url))
        try:
            for thread in threads:
                thread.start()
            assert holds.wait(WAIT_S) and refused.wait(WAIT_S), "both sends ran at once"
            # While the send holds the workbook, a refresh (another writing job) is refused too.
            with pytest.raises(WorkbookLockedError):
                jobs.refresh_status(XlsxTable(book), third)
        finally:
            go_on.set()
            for thread in threads:
                thread.join(WAIT_S)

    assert len(asked) == 1 and len(sent) == 1 and len(errors) == 1  # the refused one asked nothing
    assert book.name in str(errors[0])
    assert sent[0].counts() == {"ACCEPTED": len(NUMBERS)}
    received = Counter(m["to"] for m in standalone_sandbox.messages())
    assert received == Counter(NUMBERS)  # each number once: nothing sent twice
    ws = openpyxl.load_workbook(book)["送信リスト"]
    header = [c.value for c in ws[1]]
    codes = [row[header.index("結果コード")] for row in ws.iter_rows(min_row=2, values_only=True)]
    assert codes == ["ACCEPTED"] * len(NUMBERS)


def test_a_send_inside_connect_does_not_lock_twice(
    make_book: MakeBook, standalone_sandbox: StandaloneSandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``connect`` holds the lock; the send and the refresh inside it run (a second flock in
    the same process would be refused), and the workbook is free again afterwards."""
    monkeypatch.setenv("KUDEN_XL_NOW", IN_WINDOW)
    book: Path = make_book([["電話番号"], *([n] for n in NUMBERS)], {"本文": "お知らせ"})
    table = XlsxTable(book)
    with jobs.connect(table, base_url=standalone_sandbox.url) as (gateway, ledger):
        outcome = jobs.send(table, gateway, ledger, rows=None, confirm=lambda plan: True)
        jobs.refresh_status(XlsxTable(book), gateway, ledger)  # the file was replaced on save
    assert outcome.counts() == {"ACCEPTED": len(NUMBERS)}
    with jobs.connect(XlsxTable(book), base_url=standalone_sandbox.url):
        pass
