"""Ribbon entry points, run unchanged against xlwings' remote engine (``xw.Book(json=...)`` +
``set_mock_caller()``), sending through a real sandbox server on 127.0.0.1.

The harness applies the returned actions to the payload, so the tests read the sheet as Excel
would show it. The remote engine answers no alert (None, i.e. Cancel) and has no status bar:
tests that send hand in their own confirmation and progress callbacks.
"""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
import urllib.request
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import xlharness as xh
from conftest import mobile

from kuden_xl.books.lock import workbook_lock
from kuden_xl.errors import WorkbookLockedError
from kuden_xl.excel import common, ribbon
from kuden_xl.sandbox import SandboxServer

BODY = "【○○市】{氏名}様 お知らせです"
HEADER = ["管理番号", "氏名", "電話番号"]
BOOK = "送信リスト.xlsx"
_tails = itertools.count()


def fresh_numbers(n: int) -> list[str]:
    """Numbers no other test of this module uses (the sandbox is shared), with last two digits
    10-99 (no sandbox fault)."""
    out = []
    for _ in range(n):
        i = next(_tails)
        prefix = ("090", "080", "070")[i // 8000]
        tail = 1000 + ((i % 8000) // 90) * 100 + 10 + i % 90
        out.append(mobile(tail, prefix))
    return out


pytestmark = pytest.mark.usefixtures("sandbox_env")


def sent_to(sandbox: SandboxServer, numbers: list[str]) -> Counter[str]:
    with urllib.request.urlopen(f"{sandbox.url}/_sandbox/messages", timeout=10) as response:
        messages = json.load(response)
    wanted = set(numbers)
    return Counter(m["to"] for m in messages if m["to"] in wanted)


def book(
    numbers: list[Any],
    selection: str | None,
    *,
    body: str | None = BODY,
    extra: dict[str, Any] | None = None,
) -> xh.Payload:
    rows = [HEADER] + [[f"K{i:04d}", f"住民{i}", n] for i, n in enumerate(numbers)]
    settings = [["項目", "値"]] + ([["本文", body]] if body else [])
    settings += [[k, v] for k, v in (extra or {}).items()]
    return xh.make_payload({"送信リスト": rows, "設定": settings}, selection=selection, book=BOOK)


def agree(plan: Any) -> bool:
    return True


class Progress:
    def __init__(self) -> None:
        self.calls: list[tuple[int, int]] = []

    def __call__(self, done: int, total: int) -> None:
        self.calls.append((done, total))


def send(payload: xh.Payload, **hooks: Any) -> xh.Run:
    """選択行を送信 in one call: one slice (the slice tests below set their own size)."""
    hooks.setdefault("slice_rows", 100_000)
    return xh.run_macro(lambda: ribbon.send_selected(**hooks), payload)


def main_sheet_writes(run: xh.Run) -> list[dict[str, Any]]:
    return [a for a in run.funcs("setValues") if a["sheet_position"] == 0]


# --- send ------------------------------------------------------------------------------------


def test_multi_area_selection_sends_each_row_once_and_writes_results_beside_it(
    sandbox: SandboxServer,
) -> None:
    numbers = fresh_numbers(6)
    progress = Progress()
    run = send(book(numbers, "$A$2:$A$3,$A$5"), confirm=agree, progress=progress)
    sheet = run.sheet("送信リスト")
    codes = xh.column(sheet, "結果コード")
    assert {r: codes[r] for r in range(2, 8)} == {
        2: "ACCEPTED",
        3: "ACCEPTED",
        4: "",
        5: "ACCEPTED",
        6: "",
        7: "",
    }
    assert sent_to(sandbox, numbers) == Counter({numbers[0]: 1, numbers[1]: 1, numbers[3]: 1})
    bodies = xh.column(sheet, "送信本文")
    assert (
        bodies[2] == "【○○市】住民0様 お知らせです" and bodies[5] == "【○○市】住民3様 お知らせです"
    )
    assert xh.column(sheet, "送信日時")[2] == "2026-11-27 10:00:00"
    assert xh.column(sheet, "結果")[3] == "送信受付" and xh.column(sheet, "通数")[5] == 1
    assert xh.column(sheet, "メッセージID")[2]
    assert progress.calls[-1] == (3, 3)
    [summary] = run.alerts
    assert "送信受付（ACCEPTED）: 3件" in summary["prompt"] and summary["mode"] == "info"
    formats = run.funcs("setNumberFormat")
    assert formats and all(f["args"] == ["yyyy/mm/dd hh:mm"] for f in formats)


def test_excels_status_bar_is_skipped_where_the_engine_has_none(sandbox: SandboxServer) -> None:
    numbers = fresh_numbers(2)
    run = send(book(numbers, "$A$2:$A$3"), confirm=agree)  # default progress: the status bar
    assert sent_to(sandbox, numbers) == Counter(dict.fromkeys(numbers, 1))
    assert "送信が終わりました（2 行）" in run.alerts[0]["prompt"]
    status = ribbon.StatusBar(xh.open_book(book(numbers, None)), "送信中", interval_s=0)
    status(1, 2)
    status.clear()  # nothing shown, nothing to give back


@pytest.mark.parametrize(
    ("selection", "expected"),
    [
        ("$C:$C", {2: "ACCEPTED", 3: "ACCEPTED", 4: "ERR_INVALID_NUMBER", 5: "ACCEPTED"}),
        ("$A$1:$C$3", {2: "ACCEPTED", 3: "ACCEPTED", 4: "", 5: ""}),  # header in the selection
        ("$4:$9", {2: "", 3: "", 4: "ERR_INVALID_NUMBER", 5: "ACCEPTED"}),  # past the data
    ],
)
def test_whole_columns_header_and_rows_past_the_data(
    sandbox: SandboxServer, selection: str, expected: dict[int, str]
) -> None:
    numbers = fresh_numbers(4)
    numbers[2] = "9.01E+09"  # lost digits: never sent
    run = send(book(numbers, selection), confirm=agree, progress=Progress())
    codes = xh.column(run.sheet("送信リスト"), "結果コード")
    assert {r: codes[r] for r in expected} == expected
    sent = sent_to(sandbox, numbers)
    assert set(sent.values()) <= {1}
    assert len(sent) == sum(1 for c in expected.values() if c == "ACCEPTED")


def test_cancel_sends_nothing_and_writes_nothing(sandbox: SandboxServer) -> None:
    numbers = fresh_numbers(3)
    payload = book(numbers, "$B$2:$B$4", extra={"単価": 12.0})
    # No confirm given: Excel's OK/Cancel alert, which the remote engine answers with None.
    run = send(payload)
    [question] = run.alerts
    assert question["buttons"] == "ok_cancel" and question["title"] == "SMS送信"
    assert "3 件にSMSを送信します" in question["prompt"]
    assert "送信可能: 3件" in question["prompt"]
    assert "合計 3 通 / 概算 36 円" in question["prompt"]
    # Only the output columns' header, written before asking (a protected sheet is found
    # before the question): no result, no format.
    [header] = run.funcs("setValues")
    assert header["start_row"] == 0 and header["values"][0][0] == "送信日時"
    assert run.funcs("setNumberFormat") == []
    rows = [row[:3] for row in run.sheet("送信リスト")[1:]]
    assert rows == payload["sheets"][0]["values"][1:]
    assert all(v == "" for row in run.sheet("送信リスト")[1:] for v in row[3:])
    assert sent_to(sandbox, numbers) == Counter()
    declined = send(run.payload, confirm=lambda plan: False, progress=Progress())
    assert declined.actions == [] and sent_to(sandbox, numbers) == Counter()


def test_confirmation_counts_rows_by_code() -> None:
    numbers = fresh_numbers(4)
    numbers[1] = "03-1234-5678"
    seen: list[str] = []

    def look(plan: Any) -> bool:
        seen.append(ribbon.confirmation_text(plan))
        return False

    send(book(numbers, "$A$2:$A$5"), confirm=look)
    assert "携帯番号以外（ERR_NOT_MOBILE）: 1件" in seen[0]
    assert "送信可能: 3件" in seen[0] and "合計 3 通 / 概算 30 円" in seen[0]


@pytest.mark.parametrize("selection", ["$A$1", "$B$1:$C$1", "$A$40:$C$90", None])
def test_an_empty_selection_sends_nothing(sandbox: SandboxServer, selection: str | None) -> None:
    numbers = fresh_numbers(2)
    run = send(book(numbers, selection), confirm=agree, progress=Progress())
    [alert] = run.alerts
    assert "送信する行が選択されていません" in alert["prompt"] and alert["mode"] == "critical"
    assert run.funcs("setValues") == [] and sent_to(sandbox, numbers) == Counter()


def test_a_sheet_without_a_phone_column_names_the_accepted_headers() -> None:
    payload = xh.make_payload({"名簿": [["氏名", "住所"], ["山田", "市内"]]}, selection="$A$2")
    run = send(payload, confirm=agree)
    [alert] = run.alerts
    assert "電話番号・phone・携帯番号・携帯電話番号" in alert["prompt"]
    assert run.funcs("setValues") == []


def test_a_second_click_sends_nothing_twice_and_keeps_the_records(sandbox: SandboxServer) -> None:
    numbers = fresh_numbers(3)
    first = send(book(numbers, "$A$2:$A$4"), confirm=agree, progress=Progress())
    again = send(first.payload, confirm=agree, progress=Progress())
    assert sent_to(sandbox, numbers) == Counter(dict.fromkeys(numbers, 1))
    assert main_sheet_writes(again) == []  # records are never rewritten
    assert "送信済（SKIP_ALREADY_SENT）: 3件" in again.alerts[0]["prompt"]


def test_write_economy_for_1000_rows_in_3_blocks(
    sandbox: SandboxServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each flush writes at most one range per selected block, whatever order the messages
    finish in. Flushes are forced every 37 results (not left to the clock), so several flushes
    always see out-of-order completions."""
    from kuden_xl import jobs
    from kuden_xl.books.excel import ExcelTable

    results_seen = itertools.count(1)

    def every_37(self: jobs.SavePacer) -> None:
        if next(results_seen) % 37 == 0:
            self.flush()

    flushes: list[tuple[int, int]] = []  # (first, last) action index of each flush
    real_flush = ExcelTable.flush

    def recorded_flush(self: ExcelTable) -> None:
        before = len(self.book.json()["actions"])
        real_flush(self)
        flushes.append((before, len(self.book.json()["actions"])))

    monkeypatch.setattr(jobs.SavePacer, "maybe_flush", every_37)
    monkeypatch.setattr(ExcelTable, "flush", recorded_flush)
    numbers = fresh_numbers(1040)
    selection = "$A$2:$A$334,$B$340:$B$673,$C$700:$C$1032"  # 333 + 334 + 333 rows
    blocks = [(2, 334), (340, 673), (700, 1032)]
    run = send(book(numbers, selection), confirm=agree, progress=Progress())

    def block_of(action: dict[str, Any]) -> int:
        first = action["start_row"] + 1
        last = first + action["row_count"] - 1
        [index] = [i for i, (lo, hi) in enumerate(blocks) if lo <= first and last <= hi]
        return index

    assert len(flushes) >= 1000 // 37
    for first, last in flushes:
        actions = run.actions[first:last]
        if not actions:
            continue  # nothing pending (the rows not sent were none)
        writes = [a for a in actions if a["func"] == "setValues"]
        results = [a for a in writes if a["start_row"] > 0]
        assert len(results) == len(writes)
        formats = [a for a in actions if a["func"] == "setNumberFormat"]
        assert len(writes) + len(formats) == len(actions)
        # One value write and at most one 送信日時 format per block, each inside its block.
        assert Counter(map(block_of, results)).most_common(1)[0][1] == 1
        assert Counter(map(block_of, formats)).most_common(1)[0][1] == 1
        assert all(a["column_count"] == 8 for a in results)
    header_writes = [a for a in main_sheet_writes(run) if a["start_row"] == 0]
    assert len(header_writes) == 1  # the output columns' header cells, once, before sending
    sheet = run.sheet("送信リスト")
    codes = xh.column(sheet, "結果コード")
    assert Counter(codes.values())["ACCEPTED"] == 1000
    assert all(codes[r] == "" for r in (*range(335, 340), *range(674, 700), 1033))
    assert len(sent_to(sandbox, numbers)) == 1000


def test_a_protected_sheet_is_refused_before_the_question_fake_com(
    sandbox: SandboxServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Protection is read through COM, which only Excel has: fake COM objects stand in."""
    from kuden_xl.books.excel import ExcelTable

    class Cells:
        Locked, MergeCells = True, False

    class Sheet:
        ProtectContents, ProtectionMode = True, False

        def Range(self, address: str) -> Cells:  # noqa: N802 (COM's name)
            return Cells()

    class Workbook:
        ReadOnly, Name = False, BOOK

    monkeypatch.setattr(ExcelTable, "_com", lambda self: (Workbook(), Sheet()))
    numbers = fresh_numbers(3)
    asked: list[Any] = []
    run = send(book(numbers, "$A$2:$A$4"), confirm=asked.append, progress=Progress())
    [alert] = run.alerts
    assert "シート「送信リスト」は保護されていて" in alert["prompt"] and "D2:K4" in alert["prompt"]
    assert asked == [] and sent_to(sandbox, numbers) == Counter()


def test_a_write_failing_mid_send_stops_at_once_and_the_next_click_writes_back_fake_com(
    sandbox: SandboxServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Excel refusing a block write (a COM error) is simulated: the remote engine never fails."""
    from kuden_xl import jobs
    from kuden_xl.books.excel import ExcelTable

    results_seen = itertools.count(1)

    def every_10(self: jobs.SavePacer) -> None:
        if next(results_seen) % 10 == 0:
            self.flush()

    real_put = ExcelTable._put
    puts = itertools.count(1)

    def refuse_second(self: ExcelTable, row: int, col: int, matrix: list[list[object]]) -> None:
        if next(puts) == 2:
            self.sheet = xh.RefusingSheet(self.sheet.name)
        real_put(self, row, col, matrix)

    monkeypatch.setattr(jobs.SavePacer, "maybe_flush", every_10)
    monkeypatch.setattr(ExcelTable, "_put", refuse_second)
    numbers = fresh_numbers(200)
    payload = book(numbers, "$A$2:$A$201")
    first = send(payload, confirm=agree, progress=Progress())
    [alert] = first.alerts
    sent_first = sum(sent_to(sandbox, numbers).values())
    assert alert["mode"] == "critical" and "に結果を書き込めませんでした" in alert["prompt"]
    assert f"この実行で {sent_first} 件を送信しました" in alert["prompt"]
    assert "もう一度「選択行を送信」を押すと" in alert["prompt"]
    assert sent_first < 200  # stopped at once, not after every row
    codes = xh.column(first.sheet("送信リスト"), "結果コード")
    written = sum(1 for r in range(2, 202) if codes[r] == "ACCEPTED")
    assert 0 < written < sent_first

    monkeypatch.setattr(ExcelTable, "_put", real_put)  # the cause is removed
    second = send(first.payload, confirm=agree, progress=Progress())
    codes = xh.column(second.sheet("送信リスト"), "結果コード")
    assert all(codes[r] == "ACCEPTED" for r in range(2, 202))
    assert sent_to(sandbox, numbers) == Counter(dict.fromkeys(numbers, 1))  # every number once


# --- preview and check -------------------------------------------------------------------------


def test_preview_lists_each_selected_row_and_sends_nothing(sandbox: SandboxServer) -> None:
    numbers = fresh_numbers(3)
    numbers[1] = "03-1234-5678"
    payload = book(numbers, "$A$2:$A$4")
    run = xh.run_macro(ribbon.preview_selected, payload)
    sheet = run.sheet(ribbon.PREVIEW_SHEET)
    assert sheet[0][:4] == ["ブック", BOOK, "シート", "送信リスト"]  # what the preview is of
    sheet = sheet[2:]
    assert sheet[0] == ["行", "宛先（伏字）", "判定", "内容", "通数", "予約日時", "本文", "理由"]
    assert sheet[1][:5] == [2, f"{numbers[0][:3]}-****-{numbers[0][-4:]}", "OK", "送信可能", 1]
    assert sheet[1][6] == "【○○市】住民0様 お知らせです"
    assert sheet[2][2] == "ERR_NOT_MOBILE" and "固定電話" in sheet[2][7]
    assert sheet[3][0] == 4 and sheet[3][2] == "OK"
    assert main_sheet_writes(run) == [] and sent_to(sandbox, numbers) == Counter()
    assert run.payload["book"]["active_sheet_index"] == 2
    assert "SMSは送信していません" in run.alerts[0]["prompt"]
    on_preview = xh.run_macro(ribbon.preview_selected, run.payload)  # the preview is active
    assert (
        "シート「送信プレビュー」に電話番号の列が見つかりません" in on_preview.alerts[0]["prompt"]
    )
    back = {**run.payload, "book": {**run.payload["book"], "active_sheet_index": 0}}
    again = xh.run_macro(ribbon.preview_selected, back)  # cleared, not added twice
    assert [s["name"] for s in again.payload["sheets"]].count(ribbon.PREVIEW_SHEET) == 1
    assert again.funcs("sheetClearContents") and not again.funcs("addSheet")


def test_check_sheet_lists_the_rows_that_would_not_be_sent() -> None:
    numbers = fresh_numbers(4)
    numbers[1] = "9.01E+09"
    numbers[3] = numbers[0]
    run = xh.run_macro(ribbon.check_sheet, book(numbers, "$A$2"))
    sheet = run.sheet(ribbon.CHECK_SHEET)
    assert sheet[0] == ["行", "列", "結果コード", "結果", "理由", "番号（セルの値）"]
    assert [row[:4] for row in sheet[1:]] == [
        [3, "電話番号", "ERR_INVALID_NUMBER", "番号不正"],
        [5, "電話番号", "SKIP_DUPLICATE", "重複番号"],
    ]
    assert sheet[1][5] == "9.01E+09"
    assert "4 行を確認しました。送信できる行 2 件、送信しない行 2 件" in run.alerts[0]["prompt"]


# --- status, report, settings ----------------------------------------------------------------


def test_refresh_status_fills_delivery_beside_sent_rows() -> None:
    numbers = fresh_numbers(3)
    numbers[2] = numbers[2][:-2] + "02"  # the sandbox reports it undelivered
    sent = send(book(numbers, "$A$2:$A$4"), confirm=agree, progress=Progress())
    progress = Progress()
    run = xh.run_macro(lambda: ribbon.refresh_status(progress=progress), sent.payload)
    sheet = run.sheet("送信リスト")
    delivery = xh.column(sheet, "配信結果")
    assert [delivery[r] for r in (2, 3, 4)] == ["配信済", "配信済", "不達（圏外）"]
    assert all(xh.column(sheet, "配信確認日時")[r].startswith("2026-11-27") for r in (2, 3, 4))
    assert xh.column(sheet, "結果コード")[2] == "ACCEPTED"  # the record itself is kept
    assert progress.calls[-1] == (3, 3)
    assert "3 件の配信結果を確認しました" in run.alerts[0]["prompt"]
    nothing = xh.run_macro(ribbon.refresh_status, book(fresh_numbers(1), "$A$2"))
    assert "配信結果を確認する行はありません" in nothing.alerts[0]["prompt"]


def test_build_report_writes_the_folders_yearly_report(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """年次レポート reads the send workbooks in the active workbook's folder (this fiscal year,
    Japan time) and says where the report is. The remote engine cannot open files: opening the
    report in Excel is for the Windows checklist."""
    from report.corpus import book_a

    folder = tmp_path / "送信記録"
    folder.mkdir()
    book_a(folder / "督促.xlsx")
    monkeypatch.setenv("KUDEN_XL_NOW", "2027-03-31T23:00:00")  # still fiscal year 2026
    payload = xh.make_payload(
        {"送信リスト": [HEADER]}, selection="$A$1", book=str(folder / "督促.xlsx")
    )
    run = xh.run_macro(ribbon.build_report, payload)
    report = folder / "SMS年次レポート_2026年度.xlsx"
    assert report.exists()
    prompt = run.alerts[0]["prompt"]
    assert "2026年度の年次レポートを作りました" in prompt and str(report) in prompt
    assert "送信 7 件" in prompt and run.funcs("setValues") == []


def test_new_settings_sheet_adds_defaults_once() -> None:
    payload = xh.make_payload({"送信リスト": [HEADER]}, selection="$A$1")
    run = xh.run_macro(ribbon.new_settings_sheet, payload)
    settings = run.sheet("設定")
    assert settings[0] == ["項目", "値", "説明"]
    assert {row[0] for row in settings[1:]} >= {"本文", "送信時間帯", "単価", "日付形式"}
    assert next(row[1] for row in settings if row[0] == "送信時間帯") == "09:00-19:00"
    assert "追加しました" in run.alerts[0]["prompt"]
    [body] = [row for row in settings if row[0] == "本文"]
    assert body[1] == "" and "文例" in body[2]  # no sample text (○○市, 0120-000-000) to send
    assert "「本文」は空欄です" in run.alerts[0]["prompt"]
    again = xh.run_macro(ribbon.new_settings_sheet, run.payload)
    assert "既にあります" in again.alerts[0]["prompt"] and again.funcs("addSheet") == []


def test_new_settings_sheet_notes_the_empty_body(monkeypatch: pytest.MonkeyPatch) -> None:
    """The note itself needs Excel (COM ``AddComment``): xlwings' remote engine with a VBA client
    holds no notes, so ``Range.add_note`` is replaced by a recorder standing in for Excel."""
    import xlwings as xw

    notes: list[tuple[str, str, str]] = []

    def add_note(rng: Any, text: str) -> None:
        notes.append((rng.sheet.name, rng.get_address(False, False), text))

    monkeypatch.setattr(xw.Range, "add_note", add_note)
    payload = xh.make_payload({"送信リスト": [HEADER]}, selection="$A$1")
    run = xh.run_macro(ribbon.new_settings_sheet, payload)
    row = next(i for i, r in enumerate(run.sheet("設定"), start=1) if r[0] == "本文")
    assert notes == [("設定", f"B{row}", ribbon.BODY_NOTE)]
    assert "文例" in ribbon.BODY_NOTE and "○○市" not in ribbon.BODY_NOTE


def test_an_addin_built_for_other_versions_says_so_fake_com(
    sandbox: SandboxServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The add-in's conf sheet is read through COM (Workbooks("kuden_xl.xlam")): faked here."""
    import xlwings as xw

    conf = {"kuden_xl Version": "0.0.1", "xlwings Version": xw.__version__}
    monkeypatch.setattr(common, "addin_conf", lambda book: conf)
    numbers = fresh_numbers(1)
    run = send(book(numbers, "$A$2"), confirm=agree)
    [alert] = run.alerts
    assert "版が違います: kuden_xl（アドイン 0.0.1 / Python " in alert["prompt"]
    assert "kuden-xl addin build" in alert["prompt"] and sent_to(sandbox, numbers) == Counter()
    assert ribbon.version_mismatch({**conf, "kuden_xl Version": None}) is None
    assert ribbon.version_mismatch(None) is None


def test_a_workbook_without_a_file_path_is_refused_clearly(
    sandbox: SandboxServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """xlwings raises for the full name of some OneDrive/SharePoint books; only Excel has them,
    so Book.fullname is made to raise as it does there."""
    import xlwings as xw

    def no_path(self: Any) -> str:
        raise xw.XlwingsError("Couldn't find your local OneDrive folder")

    monkeypatch.setattr(xw.Book, "fullname", property(no_path))
    numbers = fresh_numbers(1)
    run = send(book(numbers, "$A$2"), confirm=agree)
    [alert] = run.alerts
    assert "保存場所を確かめられません（OneDrive や SharePoint" in alert["prompt"]
    assert "予期しない" not in alert["prompt"] and sent_to(sandbox, numbers) == Counter()


# --- errors ------------------------------------------------------------------------------------


def test_an_unexpected_error_is_a_short_japanese_alert(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(plan: Any) -> bool:
        raise RuntimeError("boom")

    payload = book(fresh_numbers(1), "$A$2")
    run = send(payload, confirm=broken)
    [alert] = run.alerts
    assert "予期しない問題が起きました（RuntimeError: boom）" in alert["prompt"]
    assert "担当者に連絡してください" in alert["prompt"] and alert["mode"] == "critical"
    monkeypatch.setenv("KUDEN_XL_DEBUG", "1")
    with pytest.raises(RuntimeError, match="boom"):
        send(payload, confirm=broken)


def test_a_sample_workbook_is_refused_for_a_real_provider(sandbox: SandboxServer) -> None:
    numbers = fresh_numbers(1)
    run = send(
        book(numbers, "$A$2", extra={"サンプル": "はい", "プロバイダ": "karaden"}), confirm=agree
    )
    assert "練習用" in run.alerts[0]["prompt"] and sent_to(sandbox, numbers) == Counter()


def test_a_click_while_another_run_holds_the_workbook_is_refused(sandbox: SandboxServer) -> None:
    numbers = fresh_numbers(1)
    with workbook_lock(Path(BOOK)):
        run = send(book(numbers, "$A$2"), confirm=agree)
    assert "使用中" in run.alerts[0]["prompt"] and sent_to(sandbox, numbers) == Counter()


def test_the_workbook_stays_locked_while_the_question_is_open(sandbox: SandboxServer) -> None:
    # Another run trying the workbook while staff read the confirmation is refused: the plan,
    # the question and the rows written before the first slice are one locked step.
    numbers = fresh_numbers(1)
    refused: list[bool] = []

    def confirm_while_another_run_tries(plan: Any) -> bool:
        try:
            with workbook_lock(Path(BOOK)):
                refused.append(False)
        except WorkbookLockedError:
            refused.append(True)
        return True

    run = send(book(numbers, "$A$2"), confirm=confirm_while_another_run_tries)
    assert refused == [True]
    assert sent_to(sandbox, numbers) == Counter(numbers) and "送信" in run.alerts[-1]["prompt"]
    with workbook_lock(Path(BOOK)):  # and released when the send is over
        pass


@pytest.mark.parametrize("module", ["kuden_xl.excel.ribbon", "kuden_xl.excel.udfs"])
def test_importing_the_excel_modules_stays_cheap(module: str) -> None:
    code = (
        f"import sys, {module}; "
        "print([m for m in ('requests', 'openpyxl', 'kuden_xl.jobs', 'kuden_xl.ledger') "
        "if m in sys.modules])"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env={**os.environ}, check=True
    )
    assert out.stdout.strip() == "[]"


def test_connection_test_reports_each_step_and_sends_nothing(
    sandbox: SandboxServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """接続テスト runs the CLI's job (``jobs.connection_test``) and shows every step."""

    def sandbox_messages() -> list[object]:
        with urllib.request.urlopen(f"{sandbox.url}/_sandbox/messages", timeout=10) as response:
            messages: list[object] = json.load(response)
        return messages

    before = len(sandbox_messages())
    payload = xh.make_payload({"送信リスト": [HEADER]}, selection="$A$1")
    run = xh.run_macro(ribbon.connection_test, payload)
    prompt = run.alerts[0]["prompt"]
    assert "接続テスト（sandbox）" in prompt and "✔ 認証情報" in prompt
    assert "すべて成功しました" in prompt and run.funcs("setValues") == []
    assert len(sandbox_messages()) == before
    monkeypatch.setenv("KUDEN_XL_TOKEN", "wrong")
    refused = xh.run_macro(ribbon.connection_test, payload)
    assert "✖ 認証情報" in refused.alerts[0]["prompt"]


def test_connection_test_uses_the_workbooks_provider() -> None:
    payload = xh.make_payload(
        {"送信リスト": [HEADER], "設定": [["項目", "値"], ["プロバイダ", "twilio"]]},
        selection="$A$1",
    )
    run = xh.run_macro(ribbon.connection_test, payload)
    prompt = run.alerts[0]["prompt"]
    assert "接続テスト（twilio）" in prompt and "✖ 設定" in prompt
    assert "KUDEN_XL_TWILIO_ACCOUNT_SID" in prompt
