"""Reading a year of send workbooks and CSV files: every record, every unreadable file named."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterable
from datetime import date, datetime
from pathlib import Path

import pytest

from kuden_xl.report.collect import Record, collect, find_files, read_file

from .corpus import B1, book_a


def by_key(records: Iterable[Record]) -> dict[tuple[str, str, int], Record]:
    return {(Path(r.file).name, r.sheet, r.row): r for r in records}


def test_every_matching_sheet_of_every_file_is_read(corpus: Path) -> None:
    got = collect([corpus])
    files = sorted(Path(f).name for f in got.files)
    assert files == ["案内_12月.xlsx", "督促_10月.xlsx", "記録_sjis.csv", "記録_utf8.csv"]
    sheets = sorted((Path(f).name, s) for f, s in got.sheets)
    assert sheets == [
        ("案内_12月.xlsx", "送信記録"),
        ("督促_10月.xlsx", "11月分"),
        ("督促_10月.xlsx", "送信リスト"),  # メモ and 設定 have no phone column
        ("記録_sjis.csv", "CSV"),
        ("記録_utf8.csv", "CSV"),
    ]
    assert len(got.records) == 7 + 2 + 5 + 2 + 2  # row 10 of 送信リスト has no code, no 納期限


def test_fields_from_aliases_settings_and_each_date_form(corpus: Path) -> None:
    records = by_key(collect([corpus]).records)
    first = records["督促_10月.xlsx", "送信リスト", 3]
    assert first == first._replace(
        id="K001",
        purpose="督促",  # the workbook's 設定
        sent_at=datetime(2026, 10, 5, 10, 0),
        code="ACCEPTED",
        segments=1,
        delivery="配信済",
        due=date(2026, 9, 30),
        paid=date(2026, 10, 8),
        number="090-0000-0001",
        body=B1,
        unit_price=8.0,
    )
    serial = records["督促_10月.xlsx", "11月分", 2]
    assert serial.sent_at == datetime(2026, 11, 2, 9, 30) and serial.purpose == "催告"
    assert records["督促_10月.xlsx", "11月分", 3].purpose == "督促"
    text = records["案内_12月.xlsx", "送信記録", 3]
    assert text.sent_at == datetime(2026, 12, 1, 10, 1)
    assert text.due == date(2026, 11, 30) and text.paid is None
    wareki = records["案内_12月.xlsx", "送信記録", 2]
    assert wareki.due == date(2026, 11, 30) and wareki.unit_price == 10.0
    assert records["案内_12月.xlsx", "送信記録", 6].sent_at == datetime(2027, 3, 31, 10, 0)
    sjis = records["記録_sjis.csv", "CSV", 2]
    assert (sjis.purpose, sjis.delivery, sjis.segments) == ("還付", "不達（圏外）", 2)
    utf8 = records["記録_utf8.csv", "CSV", 2]
    assert (utf8.id, utf8.sent_at) == ("C001", datetime(2027, 1, 15, 10, 0))


def test_unreadable_files_are_listed_with_the_reason(corpus: Path) -> None:
    errors = {Path(e.file).name: e.reason for e in collect([corpus]).errors}
    assert set(errors) == {"壊れた.xlsx", "保護.xlsx", "一覧.xlsx", "テキスト.xlsx"}
    assert "壊れて" in errors["壊れた.xlsx"]
    assert "パスワード" in errors["保護.xlsx"]
    assert "電話番号の列" in errors["一覧.xlsx"]
    assert "CSV（テキスト）ファイル" in errors["テキスト.xlsx"]


def test_lock_files_and_other_suffixes_are_skipped_silently(corpus: Path) -> None:
    files, errors = find_files([corpus])
    names = {p.name for p in files}
    assert "~$督促_10月.xlsx" not in names and "メモ.txt" not in names and errors == []
    files, errors = find_files([corpus / "2026年度" / "~$督促_10月.xlsx", corpus / "無い.xlsx"])
    assert files == [] and [Path(e.file).name for e in errors] == ["無い.xlsx"]


def test_calamine_and_openpyxl_read_the_same_records(corpus: Path) -> None:
    fast = collect([corpus], engine="calamine")
    baseline = collect([corpus], engine="openpyxl")
    assert fast.records == baseline.records
    assert fast.errors == baseline.errors


def _unreadable_reasons(folder: Path) -> list[str]:
    """Collect ``folder`` as a user the file permissions apply to. Root reads any file, so as
    root the collection runs in a child without CAP_DAC_OVERRIDE / CAP_DAC_READ_SEARCH."""
    if not hasattr(os, "geteuid") or os.geteuid() != 0:
        return [e.reason for e in collect([folder]).errors]
    if shutil.which("setpriv") is None:
        pytest.skip("running as root without setpriv: no way to make a file unreadable")
    code = (
        "import json, sys; from kuden_xl.report.collect import collect; "
        "print(json.dumps([e.reason for e in collect([sys.argv[1]]).errors]))"
    )
    drop = ["setpriv", "--bounding-set=-dac_override,-dac_read_search"]
    done = subprocess.run(
        [*drop, sys.executable, "-c", code, str(folder)], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    return list(json.loads(done.stdout))


def test_a_book_open_in_excel_is_named_as_such(tmp_path: Path) -> None:
    book = tmp_path / "督促.xlsx"
    book_a(book)
    (tmp_path / "~$督促.xlsx").write_bytes(b"\x00")
    book.chmod(0)  # what Excel's share lock looks like to a reader: the open is refused
    try:
        reasons = _unreadable_reasons(tmp_path)
    finally:
        book.chmod(0o644)
    assert reasons == ["Excel で開かれているため読めません（ブックを閉じてください）"]


def test_bad_settings_are_a_note_and_the_rows_still_count(tmp_path: Path) -> None:
    import openpyxl

    wb = openpyxl.Workbook()
    wb.active.append(["電話番号", "結果コード", "送信日時", "通数"])
    wb.active.append(["09000000001", "ACCEPTED", "2026/10/01 10:00", 1])
    wb.create_sheet("設定").append(["単価", "高い"])
    wb.save(tmp_path / "b.xlsx")
    result = read_file(tmp_path / "b.xlsx")
    assert len(result.records) == 1 and result.records[0].unit_price == 10.0
    assert "既定値" in result.notes[0]
