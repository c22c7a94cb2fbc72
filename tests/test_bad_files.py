"""Files that are no usable .xlsx get their own Japanese message, before openpyxl parses them
(issue 7 item 11): password-protected, old .xls, a CSV named .xlsx, a zip bomb; a header below
the rows searched; Excel's ``_xHHHH_`` escapes in shared strings."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import msoffcrypto.format.ooxml
import openpyxl
import pytest
from conftest import MakeBook, mobile
from test_send import BODY, kuden, recipients

from kuden_xl.books.base import HEADER_SCAN_ROWS
from kuden_xl.excel.addin import cfb


def check_fails(path: Path) -> str:
    run = kuden("check", str(path))
    assert run.returncode == 2, run.stdout
    assert "Traceback" not in run.stderr and "BadZipFile" not in run.stderr
    return run.stderr


def test_password_protected_workbook(make_book: MakeBook, tmp_path: Path) -> None:
    """A real encrypted package, made by msoffcrypto-tool as Excel makes one (agile encryption
    in an OLE compound file)."""
    plain = make_book(recipients(2), {"本文": BODY})
    locked = tmp_path / "鍵付き.xlsx"
    with open(plain, "rb") as src, open(locked, "wb") as out:
        msoffcrypto.format.ooxml.OOXMLFile(src).encrypt("secret", out)
    assert "パスワード付き" in check_fails(locked)


def test_old_xls_workbook(tmp_path: Path) -> None:
    """A real compound file with a ``Workbook`` stream that starts with a BIFF8 BOF record
    (built with the add-in's CFB writer: not a whole .xls, which nothing here can write, but
    the container that tells an .xls apart)."""
    bof = bytes.fromhex("0908 1000 0006 0500 0000 0000 0000 0000 0000".replace(" ", ""))
    path = tmp_path / "古い名簿.xls"
    path.write_bytes(cfb.write({"Workbook": bof + b"\0" * 4096}))
    assert "古い形式（.xls）" in check_fails(path)
    renamed = tmp_path / "古い名簿.xlsx"
    renamed.write_bytes(path.read_bytes())
    assert "古い形式（.xls）" in check_fails(renamed)


@pytest.mark.parametrize("encoding", ["utf-8-sig", "cp932"])
def test_csv_named_xlsx(tmp_path: Path, encoding: str) -> None:
    path = tmp_path / "名簿.xlsx"
    path.write_bytes(f"氏名,電話番号\n山田,{mobile(1)}\n".encode(encoding))
    assert "CSV" in check_fails(path)


def test_zip_bomb_is_refused_before_it_is_expanded(make_book: MakeBook, tmp_path: Path) -> None:
    """A workbook whose sheet expands to 300 MB (spaces between the XML elements: still a
    valid sheet) while the file is well under 1 MB."""
    book = make_book(recipients(2), {"本文": BODY})
    bomb = tmp_path / "bomb.xlsx"
    with zipfile.ZipFile(book) as src, zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as out:
        for info in src.infolist():
            data = src.read(info)
            if info.filename != "xl/worksheets/sheet1.xml":
                out.writestr(info, data)
                continue
            head, tail = data.split(b"<sheetData>", 1)
            with out.open(info.filename, "w", force_zip64=True) as part:
                part.write(head + b"<sheetData>")
                chunk = b" " * 2**20
                for _ in range(300):
                    part.write(chunk)
                part.write(tail)
    assert bomb.stat().st_size < 2**20
    # No timing and no memory figure in the test: the refusal is read from the zip directory.
    code = (
        "import resource, sys\n"
        "from kuden_xl.cli import main\n"
        "sys.argv = ['kuden-xl', 'check', sys.argv[1]]\n"
        "try:\n    main()\n"
        "finally:\n"
        "    print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr)\n"
    )
    run = subprocess.run(
        [sys.executable, "-c", code, str(bomb)], capture_output=True, text=True, timeout=600
    )
    assert run.returncode == 2
    assert "展開すると" in run.stderr and "上限" in run.stderr
    peak_kb = int(run.stderr.strip().splitlines()[-1])
    assert peak_kb < 200 * 1024  # never expanded: far below the 300 MB it would take


def test_header_below_the_rows_searched_says_so(make_book: MakeBook) -> None:
    rows: list[list[object]] = [["説明"]] + [[None]] * 22 + recipients(2)  # header in row 24
    book = make_book(rows, {"本文": BODY})
    err = check_fails(book)
    assert "24行目" in err and f"先頭{HEADER_SCAN_ROWS}行" in err and "移して" in err


def to_shared_strings(path: Path) -> None:
    """Store every string as Excel does, in xl/sharedStrings.xml (openpyxl writes them inline)."""
    with zipfile.ZipFile(path) as z:
        parts = {n: z.read(n) for n in z.namelist()}
    strings: list[str] = []

    def shared(m: re.Match[str]) -> str:
        strings.append(m.group(3))
        return f'<c r="{m.group(1)}"{m.group(2) or ""} t="s"><v>{len(strings) - 1}</v></c>'

    inline = re.compile(
        r'<c r="([A-Z]+\d+)"( s="\d+")? t="inlineStr"><is><t[^>]*>(.*?)</t></is></c>',
        re.S,
    )
    for name in [n for n in parts if n.startswith("xl/worksheets/sheet")]:
        parts[name] = inline.sub(shared, parts[name].decode()).encode()
    sst = "".join(f'<si><t xml:space="preserve">{s}</t></si>' for s in strings)
    parts["xl/sharedStrings.xml"] = (
        '<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
        f'count="{len(strings)}" uniqueCount="{len(strings)}">{sst}</sst>'
    ).encode()
    parts["[Content_Types].xml"] = parts["[Content_Types].xml"].replace(
        b"</Types>",
        b'<Override PartName="/xl/sharedStrings.xml" ContentType="application/'
        b'vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/></Types>',
    )
    rels = "xl/_rels/workbook.xml.rels"
    parts[rels] = parts[rels].replace(
        b"</Relationships>",
        b'<Relationship Id="rIdSST" Type="http://schemas.openxmlformats.org/officeDocument/'
        b'2006/relationships/sharedStrings" Target="sharedStrings.xml"/></Relationships>',
    )
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in parts.items():
            z.writestr(name, data)


def test_excel_escapes_in_shared_strings_are_decoded(make_book: MakeBook) -> None:
    """A body pasted with CRLF is stored by Excel as ``…_x000D_\\n…``; a name may carry one."""
    rows = [["氏名", "電話番号"], ["山田_x3000_太郎", mobile(1)]]
    book = make_book(rows, {"本文": "【○○市】{氏名}様_x000D_\nお知らせです"})
    to_shared_strings(book)
    assert "_x000D_" in zipfile.ZipFile(book).read("xl/sharedStrings.xml").decode()
    assert openpyxl.load_workbook(book).active["A2"].value == "山田_x3000_太郎"  # as openpyxl reads
    run = kuden("send", str(book), "--all", "--dry-run", "--json")
    assert run.returncode == 0, run.stderr
    (row,) = json.loads(run.stdout)
    assert row["body"] == "【○○市】山田\u3000太郎様\nお知らせです"
