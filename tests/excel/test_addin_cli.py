"""`kuden-xl addin build` from the installed package, as a newcomer runs it."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path


def test_addin_build_command_writes_the_xlam(tmp_path: Path) -> None:
    out = tmp_path / "dist" / "kuden_xl.xlam"
    run = subprocess.run(
        [sys.executable, "-m", "kuden_xl", "addin", "build", "-o", str(out)],
        capture_output=True,
        text=True,
        encoding="utf-8",
        cwd=tmp_path,
    )
    assert run.returncode == 0, run.stderr
    assert "ボタン 8 個" in run.stdout
    with zipfile.ZipFile(out) as z:
        names = set(z.namelist())
        assert {"customUI/customUI.xml", "xl/vbaProject.bin"} <= names
        assert "SMS送信" in z.read("customUI/customUI.xml").decode("utf-8")


def test_addin_build_takes_the_interpreter(tmp_path: Path) -> None:
    out = tmp_path / "kuden_xl.xlam"
    exe = r"C:\Python311\pythonw.exe"
    run = subprocess.run(
        [sys.executable, "-m", "kuden_xl", "addin", "build", "-o", str(out), "--interpreter", exe],
        capture_output=True,
        text=True,
        encoding="utf-8",
        cwd=tmp_path,
    )
    assert run.returncode == 0, run.stderr
    with zipfile.ZipFile(out) as z:
        assert exe in z.read("xl/sharedStrings.xml").decode("utf-8")
