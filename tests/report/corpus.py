"""A fiscal year (2026) of send records with known contents, written by real writers.

openpyxl and xlsxwriter books, a UTF-8 (BOM) and a cp932 CSV, and the files the report must list
rather than crash on. The expected figures in the tests are counted by hand from the rows below.
"""

from __future__ import annotations

import csv
import io
from datetime import date, datetime
from pathlib import Path

B1 = "【○○市】保険料が未納です。問合せ0120-000-000"
B2 = "【○○市】納付相談のご案内です"
A_HEADER = [
    "id",  # alias of 管理番号
    "氏名",
    "携帯番号",  # alias of 電話番号
    "納期限",
    "納付日",
    "送信日時",
    "送信本文",
    "結果コード",
    "結果",
    "通数",
    "メッセージID",
    "配信結果",
]


def _serial(moment: datetime) -> float:
    delta = moment - datetime(1899, 12, 30)
    return delta.days + delta.seconds / 86400


def book_a(path: Path) -> None:
    """openpyxl: header on row 2 with aliases, dates as date cells; a second sheet with serials."""
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "送信リスト"
    ws.append(["10月 督促分"])
    ws.append(A_HEADER)
    d = datetime
    rows = [
        ["K001", "住民1", "090-0000-0001", date(2026, 9, 30), date(2026, 10, 8), d(2026, 10, 5, 10, 0), B1, "ACCEPTED", "送信受付", 1, "m1", "配信済"],
        ["K002", "住民2", "090-0000-0002", date(2026, 8, 1), None, d(2026, 10, 5, 10, 1), B1, "ACCEPTED", "送信受付", 2, "m2", "不達（圏外）"],
        ["K003", "住民3", "090-0000-0003", date(2026, 5, 1), date(2026, 10, 30), d(2026, 10, 5, 10, 2), B1, "ACCEPTED", "送信受付", 1, "m3", "不達（電源オフ）"],
        ["K004", "住民4", None, date(2026, 9, 30), date(2026, 10, 10), None, None, "ERR_NO_NUMBER", "番号なし", None, None, None],
        ["K005", "住民5", "090-0000-0005", date(2026, 9, 30), None, None, None, "SKIP_EXCLUDED", "除外", None, None, None],
        ["K006", "住民6", "090-0000-0006", date(2026, 9, 30), date(2026, 10, 1), d(2026, 10, 6, 9, 0), B1, "SCHEDULED", "予約済", 1, "m6", "確認中"],
        ["K007", "住民7", "090-0000-0007", date(2026, 3, 1), date(2026, 10, 19), d(2026, 10, 5, 10, 3), B1, "ACCEPTED", "送信受付", 1, "m7", "配信済"],
        [None, "住民8", "090-0000-0008"],  # never processed, no 納期限: not a record
    ]  # fmt: skip
    for row in rows:
        ws.append(row)
    for cells in ws.iter_rows(min_row=3, min_col=6, max_col=6):
        cells[0].number_format = "yyyy/mm/dd hh:mm"
    nov = wb.create_sheet("11月分")
    nov.append(["管理番号", "電話番号", "用途", "送信日時", "結果コード", "通数", "配信結果"])
    nov.append(
        ["K101", "09000000101", "催告", _serial(d(2026, 11, 2, 9, 30)), "ACCEPTED", 1, "配信済"]
    )
    nov.append(["K102", "09000000102", None, _serial(d(2026, 11, 2, 9, 31)), "UNKNOWN", 1, None])
    memo = wb.create_sheet("メモ")
    memo.append(["連絡事項", "11月分は別シート"])
    settings = wb.create_sheet("設定")
    settings.append(["項目", "値"])
    settings.append(["本文", B1])
    settings.append(["用途", "督促"])
    settings.append(["単価", 8])
    wb.save(path)


def book_b(path: Path) -> None:
    """xlsxwriter: dates as text (西暦, 和暦, R-notation), rows outside the fiscal year."""
    import xlsxwriter

    wb = xlsxwriter.Workbook(str(path))
    ws = wb.add_worksheet("送信記録")
    rows = [
        ["管理番号", "phone", "送信日時", "送信本文", "結果コード", "通数", "配信結果", "納期限", "納付日"],
        ["K001", "090-0000-0201", "2026/12/01 10:00", B2, "ACCEPTED", 1, "配信済", "令和8年11月30日", "2026/12/05"],
        ["K201", "09000000002", "令和8年12月1日 10:01", B1, "ACCEPTED", 1, "配信済", "2026-11-30", ""],
        ["K202", "090-0000-0203", "2026/03/31 18:00", B2, "ACCEPTED", 1, "配信済", "", ""],
        ["K203", "090-0000-0204", "2027/04/01 09:00", B2, "ACCEPTED", 1, "", "", ""],
        ["K204", "090-0000-0205", "R9.3.31 10:00", B2, "ACCEPTED", 3, "不達（圏外）", "", ""],
    ]  # fmt: skip
    for r, row in enumerate(rows):
        for c, value in enumerate(row):
            if value != "":
                ws.write(r, c, value)
    wb.close()


CSV_HEADER = ["管理番号", "電話番号", "用途", "送信日時", "結果コード", "通数", "配信結果"]


def csv_text(rows: list[list[str]]) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerows([CSV_HEADER, *rows])
    return out.getvalue()


def write_corpus(root: Path) -> Path:
    """The whole year under ``root`` (subfolders included); returns ``root``."""
    (root / "2026年度").mkdir(parents=True)
    (root / "CSV").mkdir()
    book_a(root / "2026年度" / "督促_10月.xlsx")
    book_b(root / "2026年度" / "案内_12月.xlsx")
    utf8 = csv_text(
        [
            ["C001", "090-0000-0301", "還付", "2027/01/15 10:00", "ACCEPTED", "1", "配信済"],
            ["C002", "090-0000-0302", "還付", "2027/01/15 10:01", "REJECTED", "0", ""],
        ]
    )
    (root / "CSV" / "記録_utf8.csv").write_bytes(utf8.encode("utf-8-sig"))
    sjis = csv_text(
        [
            ["C101", "090-0000-0401", "還付", "2027/02/10 11:00", "ACCEPTED", "2", "不達（圏外）"],
            ["C102", "", "還付", "", "ERR_NO_NUMBER", "", ""],
        ]
    )
    (root / "CSV" / "記録_sjis.csv").write_bytes(sjis.encode("cp932"))
    write_bad_files(root / "問題")
    # Excel's lock file beside an open book: skipped silently.
    (root / "2026年度" / "~$督促_10月.xlsx").write_bytes(b"\x00" * 165)
    return root


def write_bad_files(folder: Path) -> None:
    import openpyxl
    from msoffcrypto.format.ooxml import OOXMLFile

    folder.mkdir()
    good = folder / "元.xlsx"
    book_a(good)
    data = good.read_bytes()
    (folder / "壊れた.xlsx").write_bytes(data[: len(data) // 2])
    encrypted = io.BytesIO()
    with good.open("rb") as plain:
        OOXMLFile(plain).encrypt("secret", encrypted)
    (folder / "保護.xlsx").write_bytes(encrypted.getvalue())
    good.unlink()
    wb = openpyxl.Workbook()
    wb.active.append(["氏名", "住所"])
    wb.active.append(["住民", "○○市"])
    wb.save(folder / "一覧.xlsx")
    (folder / "テキスト.xlsx").write_text("これはブックではありません", encoding="utf-8")
    (folder / "メモ.txt").write_text("読まないファイル", encoding="utf-8")
