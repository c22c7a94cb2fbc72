"""The report workbook: read back with openpyxl, and converted by LibreOffice (an independent reader)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import zipfile
from datetime import datetime
from pathlib import Path
from xml.etree import ElementTree

import openpyxl
import pytest

from kuden_xl import jobs
from kuden_xl.report.render import SHEETS

ODS_TABLE = "{urn:oasis:names:tc:opendocument:xmlns:table:1.0}table"
ODS_NAME = "{urn:oasis:names:tc:opendocument:xmlns:table:1.0}name"


@pytest.fixture(scope="module")
def built(corpus: Path, tmp_path_factory: pytest.TempPathFactory) -> jobs.ReportOutcome:
    out = tmp_path_factory.mktemp("report") / "年次レポート.xlsx"
    return jobs.report([corpus], fiscal_year=2026, output=out)


def test_every_sheet_with_its_figures(built: jobs.ReportOutcome) -> None:
    wb = openpyxl.load_workbook(built.path)
    assert wb.sheetnames == list(SHEETS)
    overview = {
        r[0]: r[1] for r in wb["概要"].iter_rows(min_row=4, max_col=2, values_only=True) if r[0]
    }
    assert overview["送信件数（通）"] == 12 and overview["概算費用"] == 144
    assert overview["配信率（配信済 ÷ 送信件数）"] == 0.5
    monthly = {r[0]: r for r in wb["月別"].iter_rows(min_row=4, values_only=True)}
    assert monthly["2026年10月"][1:4] == (5, 6, 48)
    assert monthly["合計"][1:8] == (12, 16, 144, 6, 4, 2, 0.5)
    purposes = {r[0]: r[1] for r in wb["用途別"].iter_rows(min_row=5, values_only=True)}
    assert purposes == {"督促": 6, "還付": 2, "（未設定）": 3, "催告": 1, "合計": 12}
    effect = [r for r in wb["効果分析"].iter_rows(min_row=6, max_row=13, values_only=True)]
    assert effect[0][:9] == ("送信", "30日以下", 3, 2, 2 / 3, 2, 2 / 3, 2, 2 / 3)
    assert effect[4][:4] == ("参考（未送信）", "30日以下", 2, 1)
    reasons = [r[:2] for r in wb["不達理由"].iter_rows(min_row=5, values_only=True)]
    assert reasons == [("圏外", 3), ("電源オフ", 1), ("合計", 4)]
    assert wb["重複送信"].max_row == 6  # title, note, blank, header, two groups
    errors = {Path(r[0]).name for r in wb["読込エラー"].iter_rows(min_row=5, values_only=True)}
    assert errors == {"壊れた.xlsx", "保護.xlsx", "一覧.xlsx", "テキスト.xlsx"}


def test_detail_is_an_excel_table_of_every_record(built: jobs.ReportOutcome) -> None:
    wb = openpyxl.load_workbook(built.path)
    ws = wb["明細"]
    assert list(ws.tables) == ["明細"] and ws.tables["明細"].ref == "A1:K17"
    rows = list(ws.iter_rows(min_row=2, values_only=True))
    assert len(rows) == 16 == len(built.summary.records)
    first = next(r for r in rows if r[3] == "K001" and r[1] == "送信リスト")
    assert first[2] == 3 and first[5] == datetime(2026, 10, 5, 10, 0) and first[6] == "ACCEPTED"
    assert (
        ws.cell(2, 6).number_format == "yyyy/mm/dd hh:mm"
        and ws.cell(2, 10).number_format == "yyyy/mm/dd"
    )
    assert ws.cell(2, 1).font.name == "游ゴシック"


def test_charts_and_print_setup_are_in_the_parts(built: jobs.ReportOutcome) -> None:
    with zipfile.ZipFile(built.path) as z:
        charts = [n for n in z.namelist() if re.fullmatch(r"xl/charts/chart\d+\.xml", n)]
        assert len(charts) == 2
        kinds = "".join(z.read(n).decode() for n in charts)
        assert "<barChart>" in kinds and "<lineChart>" in kinds
    wb = openpyxl.load_workbook(built.path)
    for name in SHEETS:
        setup = wb[name].page_setup
        assert (setup.orientation, setup.paperSize) == ("landscape", 9), name


def _soffice() -> str:
    exe = shutil.which("soffice") or shutil.which("libreoffice")
    if exe is None:
        reason = "LibreOffice is not installed (apt-get install -y libreoffice-calc-nogui)"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{reason}; CI must run the LibreOffice checks")
        pytest.skip(reason)
    return exe


def _convert(exe: str, book: Path, fmt: str, out: Path) -> Path:
    proc = subprocess.run(
        [exe, "--headless", "--convert-to", fmt, "--outdir", str(out), str(book)],
        env={**os.environ, "HOME": str(out / "home")},
        capture_output=True, text=True, timeout=180, check=False,
    )  # fmt: skip
    converted = out / f"{book.stem}.{fmt}"
    assert proc.returncode == 0 and converted.exists(), (proc.stdout, proc.stderr)
    return converted


@pytest.mark.slow
def test_libreoffice_reads_every_sheet_and_chart_and_prints_it(
    built: jobs.ReportOutcome, tmp_path: Path
) -> None:
    exe = _soffice()
    ods = _convert(exe, built.path, "ods", tmp_path)
    with zipfile.ZipFile(ods) as z:
        content = ElementTree.fromstring(z.read("content.xml"))
        names = [t.get(ODS_NAME) for t in content.iter(ODS_TABLE)]
        charts = [n for n in z.namelist() if n.endswith("/content.xml") and n.startswith("Object")]
    assert [n for n in names if n in SHEETS] == list(SHEETS)
    assert len(charts) == 2
    pdf = _convert(exe, built.path, "pdf", tmp_path).read_bytes()
    assert pdf.startswith(b"%PDF")
    assert len(re.findall(rb"/Type\s*/Page\b", pdf)) >= len(SHEETS)  # every sheet prints
