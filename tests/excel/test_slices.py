"""A long send and a long status refresh in slices, driven the way Excel drives them (issue 9,
item 2).

Each ``RunPython`` is one ``xh.run_macro`` call against xlwings' remote engine; where Excel would
run ``Application.OnTime`` → ``RibbonKuden.SendNextSlice`` (``RefreshNextSlice``), the ribbon
calls the ``schedule`` handed in, and the test makes the next call itself. Slice sizes are fixed
(``slice_rows``, ``slice_ids``), so what each call sends or asks is exact: no clock decides
anything here. The sandbox answers with latency.
"""

from __future__ import annotations

import itertools
import json
import urllib.request
from collections import Counter
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import xlharness as xh
from conftest import mobile

from kuden_xl.excel import ribbon, slices
from kuden_xl.excel.addin.build import PROJECT_NAME
from kuden_xl.excel.addin.buttons import RIBBON_VBA_MODULE, SCHEDULED
from kuden_xl.sandbox import SandboxServer

IN_WINDOW = "2026-11-27T10:00:00"
HEADER = ["管理番号", "氏名", "電話番号"]
ROWS = 2_000
SLICE = 150
_tails = itertools.count()


def fresh_numbers(n: int) -> list[str]:
    """Numbers no other test here uses, last two digits 10-99 (no sandbox fault)."""
    out = []
    for _ in range(n):
        i = next(_tails)
        prefix = ("090", "080", "070")[i // 8000]
        out.append(mobile(1000 + ((i % 8000) // 90) * 100 + 10 + i % 90, prefix))
    return out


@pytest.fixture(scope="module")
def sandbox() -> Iterator[SandboxServer]:
    server = SandboxServer(port=0, latency_ms=3).start()
    yield server
    server.stop()


@pytest.fixture(autouse=True)
def environment(
    clean_environ: None, sandbox: SandboxServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> Iterator[None]:
    monkeypatch.setenv("KUDEN_XL_BASE_URL", sandbox.url)
    monkeypatch.setenv("KUDEN_XL_NOW", IN_WINDOW)
    monkeypatch.chdir(tmp_path)
    yield
    slices.clear()


def sent_to(sandbox: SandboxServer, numbers: list[str]) -> Counter[str]:
    with urllib.request.urlopen(f"{sandbox.url}/_sandbox/messages", timeout=10) as response:
        messages = json.load(response)
    wanted = set(numbers)
    return Counter(m["to"] for m in messages if m["to"] in wanted)


def book(numbers: list[str]) -> xh.Payload:
    rows = [HEADER] + [[f"K{i:04d}", f"住民{i}", n] for i, n in enumerate(numbers)]
    settings = [["項目", "値"], ["本文", "【○○市】{氏名}様 お知らせです"]]
    selection = f"$A$2:$A${len(numbers) + 1}"
    return xh.make_payload({"送信リスト": rows, "設定": settings}, selection=selection)


class Excel:
    """Stands in for Excel's side of the protocol: OnTime requests, status-bar progress."""

    def __init__(self) -> None:
        self.scheduled = 0
        self.progress: list[tuple[int, int]] = []

    def schedule(self, book: Any) -> None:
        self.scheduled += 1

    def show(self, done: int, total: int) -> None:
        self.progress.append((done, total))

    def first(self, payload: xh.Payload, rows: int = SLICE) -> xh.Run:
        return xh.run_macro(
            lambda: ribbon.send_selected(
                confirm=lambda plan: True, progress=self.show, schedule=self.schedule,
                slice_rows=rows,
            ),
            payload,
        )  # fmt: skip

    def next(self, payload: xh.Payload) -> xh.Run:
        """What OnTime runs: RibbonKuden.SendNextSlice → r.send_next_slice()."""
        assert self.scheduled == 1, "a slice runs only when the previous one asked for it"
        self.scheduled = 0
        return xh.run_macro(
            lambda: ribbon.send_next_slice(progress=self.show, schedule=self.schedule), payload
        )


def test_2000_rows_go_out_slice_by_slice_each_number_once(sandbox: SandboxServer) -> None:
    numbers = fresh_numbers(ROWS)
    excel = Excel()
    run = excel.first(book(numbers))
    calls = 1
    while excel.scheduled:
        # Between slices Excel is idle: nothing alerted yet, exactly the slices so far sent.
        assert run.alerts == []
        assert sum(sent_to(sandbox, numbers).values()) == min(calls * SLICE, ROWS)
        run = excel.next(run.payload)
        calls += 1
    assert calls == -(-ROWS // SLICE)  # 14 calls of at most 150 messages
    assert sent_to(sandbox, numbers) == Counter(dict.fromkeys(numbers, 1))
    codes = xh.column(run.sheet("送信リスト"), "結果コード")
    assert Counter(codes.values()) == Counter({"ACCEPTED": ROWS})
    [summary] = run.alerts
    assert f"送信が終わりました（{ROWS} 行）" in summary["prompt"]
    assert f"送信受付（ACCEPTED）: {ROWS}件" in summary["prompt"]
    assert excel.progress[-1] == (ROWS, ROWS)  # progress counts the whole send
    assert [t for _, t in excel.progress] == [ROWS] * len(excel.progress)
    assert slices.running() == []


def test_cancel_between_slices_stops_before_the_next_one(sandbox: SandboxServer) -> None:
    numbers = fresh_numbers(ROWS)
    excel = Excel()
    run = excel.first(book(numbers))
    for _ in range(2):
        run = excel.next(run.payload)
    assert excel.scheduled == 1  # the fourth slice is pending when 送信を中止 is clicked
    stopped = xh.run_macro(ribbon.cancel_send, run.payload)
    [alert] = stopped.alerts
    assert "送信を中止しました。450 件を送り、残りの 1550 件は送っていません" in alert["prompt"]
    quiet = excel.next(stopped.payload)  # the pending OnTime still fires: it does nothing
    assert quiet.actions == [] and excel.scheduled == 0
    assert sum(sent_to(sandbox, numbers).values()) == 3 * SLICE
    codes = xh.column(quiet.sheet("送信リスト"), "結果コード")
    assert [r for r, c in codes.items() if c == "ACCEPTED"] == list(range(2, 2 + 3 * SLICE))
    nothing = xh.run_macro(ribbon.cancel_send, quiet.payload)
    assert "中止する送信や配信結果の更新はありません" in nothing.alerts[0]["prompt"]
    # A new click on the same rows sends the rest, and nothing twice.
    rest = Excel().first(quiet.payload, rows=ROWS)
    assert "既に送信" not in rest.alerts[0]["prompt"]
    assert "送信済（SKIP_ALREADY_SENT）: 450件" in rest.alerts[0]["prompt"]
    assert sent_to(sandbox, numbers) == Counter(dict.fromkeys(numbers, 1))


def test_a_row_changed_between_slices_stops_the_send(sandbox: SandboxServer) -> None:
    numbers = fresh_numbers(400)
    excel = Excel()
    run = excel.first(book(numbers))
    payload = json.loads(json.dumps(run.payload))
    payload["sheets"][0]["values"][200][1] = "別人"  # row 201's 氏名: a different body
    changed = excel.next(payload)
    [alert] = changed.alerts
    assert "確認したあとで 201 行目の番号または本文が変わった" in alert["prompt"]
    assert f"ここまでに {SLICE} 件を送りました" in alert["prompt"]
    assert sum(sent_to(sandbox, numbers).values()) == SLICE and excel.scheduled == 0
    assert slices.running() == []


def test_a_second_click_during_a_send_is_refused(sandbox: SandboxServer) -> None:
    numbers = fresh_numbers(400)
    excel = Excel()
    run = excel.first(book(numbers))
    again = Excel().first(run.payload)
    [alert] = again.alerts
    assert f"このブックの送信がまだ続いています（{SLICE}/400 件）" in alert["prompt"]
    assert sum(sent_to(sandbox, numbers).values()) == SLICE
    while excel.scheduled:
        run = excel.next(run.payload)
    assert sent_to(sandbox, numbers) == Counter(dict.fromkeys(numbers, 1))


def test_a_closed_workbook_stops_its_send(sandbox: SandboxServer) -> None:
    numbers = fresh_numbers(400)
    excel = Excel()
    excel.first(book(numbers))
    # The next slice runs while another workbook is active and the sending one is closed.
    other = xh.make_payload({"名簿": [["氏名"]]}, book="別のブック.xlsx")
    stopped = excel.next(other)
    [alert] = stopped.alerts
    assert (
        "送信中のブック「送信リスト.xlsx」のシート「送信リスト」が見つからない" in alert["prompt"]
    )
    assert f"（{SLICE} 件送信済み）" in alert["prompt"] and slices.running() == []
    assert sum(sent_to(sandbox, numbers).values()) == SLICE


def test_open_book_finds_the_sending_workbook_among_the_open_ones() -> None:
    """Excel's Workbooks collection, faked: the active workbook may be another one."""

    class Book:
        def __init__(self, fullname: str) -> None:
            self.fullname = fullname

    class App:
        books = [Book("C:\\a\\別.xlsx"), Book("C:\\a\\送信リスト.xlsx")]

    caller = Book("C:\\a\\別.xlsx")
    caller.app = App()  # type: ignore[attr-defined]
    assert ribbon.open_book(caller, "C:\\a\\送信リスト.xlsx") is App.books[1]
    with pytest.raises(LookupError):
        ribbon.open_book(caller, "C:\\a\\閉じた.xlsx")


def test_a_slice_without_its_send_says_what_to_do() -> None:
    run = xh.run_macro(ribbon.send_next_slice, book(fresh_numbers(3)))
    [alert] = run.alerts
    assert "送信の続きの情報がありません" in alert["prompt"] and "再送しません" in alert["prompt"]


def test_the_first_slice_size_follows_the_rate_limit() -> None:
    assert slices.first_slice_rows(None) == slices.FIRST_SLICE_ROWS
    assert slices.first_slice_rows(5.0) == 15  # 5 messages a second, 3-second slices
    assert slices.first_slice_rows(10_000.0) == slices.MAX_SLICE_ROWS
    state = slices.SliceRun(("b", "s"), {}, [], 20)
    state.pace(20, 1.0)  # 50 ms a row: 60 rows fill 3 seconds
    assert state.slice_rows == 60
    fixed = slices.SliceRun(("b", "s"), {}, [], 150, adaptive=False)
    fixed.pace(150, 30.0)
    assert fixed.slice_rows == 150


class OnTimeApp:
    """Excel's Application with only OnTime, which records what it was asked to run."""

    def __init__(self) -> None:
        self.calls: list[tuple[Any, str]] = []

    def OnTime(self, when: Any, macro: str) -> None:  # noqa: N802 (COM's name)
        self.calls.append((when, macro))


def excel_with_on_time() -> tuple[OnTimeApp, Any]:
    """The fake Application and a workbook whose ``app.api`` is it."""
    app = OnTimeApp()
    return app, type("B", (), {"app": type("A", (), {"api": app})()})()


def test_on_time_names_the_scheduled_sub_of_the_addin() -> None:
    """Excel's OnTime is faked: only Excel runs the macro it names."""
    sub, entry = SCHEDULED[0]
    assert entry == "send_next_slice" and callable(getattr(ribbon, entry))
    assert ribbon.NEXT_SLICE_MACRO == f"'{PROJECT_NAME}.xlam'!{RIBBON_VBA_MODULE}.{sub}"
    app, fake_book = excel_with_on_time()
    ribbon.excel_schedule(fake_book)
    [(when, macro)] = app.calls
    assert isinstance(when, datetime) and macro == ribbon.NEXT_SLICE_MACRO


# --- 配信結果を更新 in slices ----------------------------------------------------------------

SENT = 1_000
REFRESH = 150


@pytest.fixture
def asked(monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    """Every message id the ribbon asks the sandbox about, counted."""
    from kuden_xl.gateways.sandbox import SandboxGateway

    seen: Counter[str] = Counter()
    status = SandboxGateway.status

    def counting(self: SandboxGateway, message_ids: Any) -> Any:
        seen.update(message_ids)
        return status(self, message_ids)

    monkeypatch.setattr(SandboxGateway, "status", counting)
    return seen


def sent_book(n: int = SENT) -> xh.Payload:
    """A sheet of ``n`` rows sent through the sandbox (one slice), each with a メッセージID."""
    run = Excel().first(book(fresh_numbers(n)), rows=n)
    ids = xh.column(run.sheet("送信リスト"), "メッセージID")
    assert len(set(ids.values())) == n and all(ids.values())
    return run.payload


def delivery(payload: xh.Payload) -> dict[int, Any]:
    return xh.column(next(s["values"] for s in payload["sheets"]), "配信結果")


def message_ids(payload: xh.Payload) -> dict[int, str]:
    return xh.column(next(s["values"] for s in payload["sheets"]), "メッセージID")


class Refresh(Excel):
    """Excel's side of a sliced 配信結果を更新: RefreshStatus, then RefreshNextSlice by OnTime."""

    def first(self, payload: xh.Payload, rows: int = REFRESH) -> xh.Run:
        return xh.run_macro(
            lambda: ribbon.refresh_status(
                progress=self.show, schedule=self.schedule, slice_ids=rows
            ),
            payload,
        )

    def next(self, payload: xh.Payload) -> xh.Run:
        """What OnTime runs: RibbonKuden.RefreshNextSlice → r.refresh_next_slice()."""
        assert self.scheduled == 1, "a slice runs only when the previous one asked for it"
        self.scheduled = 0
        return xh.run_macro(
            lambda: ribbon.refresh_next_slice(progress=self.show, schedule=self.schedule),
            payload,
        )


def test_refresh_goes_slice_by_slice_each_id_once(asked: Counter[str]) -> None:
    sent = sent_book()
    ids = message_ids(sent)
    excel = Refresh()
    run = excel.first(sent)
    calls = 1
    while excel.scheduled:
        # Between slices: exactly the first calls × size rows have a result, nothing alerted.
        assert run.alerts == []
        filled = [r for r, d in delivery(run.payload).items() if d]
        assert filled == list(range(2, 2 + calls * REFRESH))
        assert sum(asked.values()) == calls * REFRESH
        run = excel.next(run.payload)
        calls += 1
    assert calls == -(-SENT // REFRESH)  # 7 calls of at most 150 ids
    assert asked == Counter(ids.values())  # every id asked about once
    results = delivery(run.payload)
    assert all(d.startswith(("配信済", "不達")) for d in results.values())
    checked_at = xh.column(run.sheet("送信リスト"), "配信確認日時")
    assert all(checked_at[r].startswith("2026-11-27") for r in results)
    [summary] = run.alerts
    prompt = summary["prompt"]
    assert (
        f"ブック「送信リスト.xlsx」の「送信リスト」シートの {SENT} 件の配信結果を確認しました"
        in prompt
    )
    delivered = sum(1 for d in results.values() if d == "配信済")
    assert f"  配信済: {delivered}件" in prompt
    assert excel.progress[-1] == (SENT, SENT)
    assert [t for _, t in excel.progress] == [SENT] * len(excel.progress)
    assert slices.running() == []


def test_cancel_between_refresh_slices_and_a_new_click_completes(asked: Counter[str]) -> None:
    sent = sent_book()
    ids = message_ids(sent)
    excel = Refresh()
    run = excel.first(sent)
    for _ in range(2):
        run = excel.next(run.payload)
    assert excel.scheduled == 1  # the fourth slice is pending when 中止 is clicked
    stopped = xh.run_macro(ribbon.cancel_send, run.payload)
    [alert] = stopped.alerts
    assert "「送信リスト」シートの配信結果の更新を中止しました" in alert["prompt"]
    assert "450 件を確認し、残りの 550 件は確認していません" in alert["prompt"]
    quiet = excel.next(stopped.payload)  # the pending OnTime still fires: it does nothing
    assert quiet.actions == [] and excel.scheduled == 0
    assert sum(asked.values()) == 3 * REFRESH
    results = delivery(quiet.payload)
    assert [r for r, d in results.items() if d] == list(range(2, 2 + 3 * REFRESH))
    # A new click asks about exactly the rest, once.
    again = Refresh()
    rest = again.first(quiet.payload, rows=SENT)
    assert again.scheduled == 0
    assert "550 件の配信結果を確認しました" in rest.alerts[0]["prompt"]
    assert asked == Counter(ids.values())
    assert all(delivery(rest.payload).values())


def test_a_final_result_is_never_overwritten(asked: Counter[str]) -> None:
    sent = sent_book(400)
    ids = message_ids(sent)
    header = sent["sheets"][0]["values"][0]
    at, checked = header.index("配信結果"), header.index("配信確認日時")
    by_hand = {r: "不達（電話で確認）" for r in range(2, 12)}  # an earlier result, kept
    payload = json.loads(json.dumps(sent))
    for r, text in by_hand.items():
        payload["sheets"][0]["values"][r - 1][at] = text
        payload["sheets"][0]["values"][r - 1][checked] = "2026-11-01 09:00:00"
    excel = Refresh()
    run = excel.first(payload)
    # Between slices, staff record row 300 by hand: the slice that reaches it leaves it alone.
    edited = json.loads(json.dumps(run.payload))
    edited["sheets"][0]["values"][299][at] = "配信済（窓口で確認）"
    run = excel.next(edited)
    while excel.scheduled:
        run = excel.next(run.payload)
    results = delivery(run.payload)
    assert {r: results[r] for r in by_hand} == by_hand
    assert results[300] == "配信済（窓口で確認）"
    when = xh.column(run.sheet("送信リスト"), "配信確認日時")
    assert {when[r] for r in by_hand} == {"2026-11-01 09:00:00"} and when[300] == ""
    untouched = {ids[r] for r in (*by_hand, 300)}
    assert set(asked) == set(ids.values()) - untouched and max(asked.values()) == 1
    assert "389 件の配信結果を確認しました" in run.alerts[0]["prompt"]


def test_rows_still_pending_are_asked_once_per_run(
    sandbox: SandboxServer, asked: Counter[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    sent = sent_book(400)
    monkeypatch.setattr(sandbox, "deliver_after_s", 3600.0)  # nothing delivered yet
    excel = Refresh()
    run = excel.first(sent)
    calls = 1
    while excel.scheduled:
        run = excel.next(run.payload)
        calls += 1
    assert calls == 3 and sum(asked.values()) == 400 and max(asked.values()) == 1
    assert set(delivery(run.payload).values()) == {"確認中"}
    [summary] = run.alerts
    assert "400 件の配信結果を確認しました" in summary["prompt"]
    assert "確認中: 400件" in summary["prompt"] and "時間をおいて" in summary["prompt"]
    assert slices.running() == []


def test_a_send_and_a_refresh_of_one_workbook_exclude_each_other(
    sandbox: SandboxServer, asked: Counter[str]
) -> None:
    sent = sent_book(400)
    # A refresh is running: 選択行を送信 on the same workbook is refused, nothing is sent.
    refresh = Refresh()
    run = refresh.first(sent)
    numbers = list(xh.column(run.sheet("送信リスト"), "電話番号").values())
    before = sum(sent_to(sandbox, numbers).values())
    send = Excel()
    refused = send.first(run.payload)
    [alert] = refused.alerts
    assert f"このブックの配信結果の更新がまだ続いています（{REFRESH}/400 件）" in alert["prompt"]
    assert send.scheduled == 0 and sum(sent_to(sandbox, numbers).values()) == before
    # A send slice asked for now (none was) finds nothing: the queues are per kind.
    lost = xh.run_macro(ribbon.send_next_slice, run.payload)
    assert "送信の続きの情報がありません" in lost.alerts[0]["prompt"]
    while refresh.scheduled:
        run = refresh.next(run.payload)
    assert sum(asked.values()) == 400
    # A send is running: 配信結果を更新 on the same workbook is refused, nothing is asked.
    sending = Excel()
    first = sending.first(book(fresh_numbers(400)))
    asked.clear()
    no = Refresh().first(first.payload)
    assert f"このブックの送信がまだ続いています（{SLICE}/400 件）" in no.alerts[0]["prompt"]
    assert not asked and "「中止」を押してから" in no.alerts[0]["prompt"]
    while sending.scheduled:
        first = sending.next(first.payload)
    assert slices.running() == []


def test_a_refresh_slice_without_its_run_says_what_to_do() -> None:
    run = xh.run_macro(ribbon.refresh_next_slice, book(fresh_numbers(3)))
    [alert] = run.alerts
    assert "配信結果の更新の続きの情報がありません" in alert["prompt"]


def test_the_first_refresh_slice_follows_the_rate_limit() -> None:
    from kuden_xl.excel.refreshing import first_slice_ids
    from kuden_xl.jobs import STATUS_BATCH

    assert first_slice_ids(None) == STATUS_BATCH  # one status request
    assert first_slice_ids(0.2) == STATUS_BATCH  # at least one, even when it takes 5 s
    assert first_slice_ids(10.0) == slices.MAX_SLICE_ROWS


def test_on_time_names_the_refresh_sub_of_the_addin() -> None:
    """Excel's OnTime is faked: only Excel runs the macro it names."""
    from kuden_xl.excel import refreshing

    assert ("RefreshNextSlice", "refresh_next_slice") in SCHEDULED
    macro = f"'{PROJECT_NAME}.xlam'!{RIBBON_VBA_MODULE}.RefreshNextSlice"
    assert ribbon.REFRESH_NEXT_SLICE_MACRO == macro
    app, fake_book = excel_with_on_time()
    refreshing.excel_schedule(fake_book)
    [(when, named)] = app.calls
    assert isinstance(when, datetime) and named == macro
