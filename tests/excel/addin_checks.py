"""Checks of a built kuden_xl.xlam, shared by the positive tests and the negative controls.

Every check reads the file with a tool that is independent of the builder (oletools' olevba,
olefile, openpyxl, LibreOffice) and returns a list of problems: empty means the check passed.
The negative controls run the same functions on deliberately corrupted builds, which shows the
checks can fail.
"""

from __future__ import annotations

import importlib
import io
import logging
import os
import re
import shutil
import subprocess
import warnings
import zipfile
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from xml.etree import ElementTree

with warnings.catch_warnings():
    # oletools 0.60 calls pyparsing's deprecated enablePackrat() at import time; the project's
    # pytest settings turn warnings into errors, and this one is not ours to fix.
    warnings.simplefilter("ignore", DeprecationWarning)
    from oletools.olevba import VBA_Parser, decompress_stream

__all__ = ["decompress_stream"]  # re-exported for the tests: import oletools through here

CUSTOMUI_NS = "{http://schemas.microsoft.com/office/2006/01/customui}"
RELS_NS = "{http://schemas.openxmlformats.org/package/2006/relationships}"
# The relationship type that goes with customUI.xml's namespace (2006/01/customui); the 2007
# type belongs to customUI14.xml (2009/07/customui).
CUSTOMUI_REL = "http://schemas.microsoft.com/office/2006/relationships/ui/extensibility"
RUNPYTHON = re.compile(r'RunPython "import ([\w.]+) as (\w+); \2\.(\w+)\(\)"')
# olevba warns about this for every OOXML file it reads from memory; it says nothing about ours.
_IGNORED_OLEVBA_WARNINGS = ("VBA stomping cannot be detected",)


@dataclass
class OlevbaResult:
    modules: dict[str, str] = field(default_factory=dict)  # module name -> source text
    problems: list[str] = field(default_factory=list)


@contextmanager
def _olevba_log() -> Iterator[list[logging.LogRecord]]:
    """Collect olevba's warnings and errors (it logs failures instead of raising them)."""
    records: list[logging.LogRecord] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    logger = logging.getLogger("olevba")
    handler = Collect(logging.WARNING)
    old_level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.WARNING)
    try:
        yield records
    finally:
        logger.removeHandler(handler)
        logger.setLevel(old_level)


def olevba_modules(xlam: Path) -> OlevbaResult:
    """Every VBA module as olevba (strict mode) extracts it, and what it complained about."""
    result = OlevbaResult()
    with _olevba_log() as records:
        try:
            parser = VBA_Parser(str(xlam), relaxed=False)
            try:
                for _, stream, filename, code in parser.extract_macros():
                    name = filename.rsplit(".", 1)[0]
                    if name in result.modules:
                        result.problems.append(f"olevba: module {name} extracted twice ({stream})")
                    result.modules[name] = code
            finally:
                parser.close()
        except Exception as exc:
            result.problems.append(f"olevba raised {type(exc).__name__}: {exc}")
    for r in records:
        message = r.getMessage()
        if not any(ignored in message for ignored in _IGNORED_OLEVBA_WARNINGS):
            result.problems.append(f"olevba {r.levelname.lower()}: {message}")
    return result


def missing_modules(modules: Mapping[str, str], expected: Iterable[str]) -> list[str]:
    return [f"module {name} missing" for name in expected if name not in modules]


def custom_ui(xlam: Path) -> ElementTree.Element:
    """The customUI part that _rels/.rels points at, parsed."""
    with zipfile.ZipFile(xlam) as z:
        rels = ElementTree.fromstring(z.read("_rels/.rels"))
        targets = [
            r.get("Target", "").lstrip("/")
            for r in rels.iter(f"{RELS_NS}Relationship")
            if r.get("Type") == CUSTOMUI_REL
        ]
        assert len(targets) == 1, targets
        return ElementTree.fromstring(z.read(targets[0]))


def public_subs(source: str) -> set[str]:
    """Names of ``Public Sub X(control As IRibbonControl)`` in a module (VBA ignores case)."""
    pattern = re.compile(
        r"^\s*Public\s+Sub\s+(\w+)\s*\(\s*control\s+As\s+IRibbonControl\s*\)\s*$", re.I | re.M
    )
    return {m.lower() for m in pattern.findall(source)}


def ribbon_problems(xlam: Path, modules: Mapping[str, str]) -> list[str]:
    """Every button's onAction must name a ribbon-callback Sub of an existing module."""
    problems = []
    buttons = list(custom_ui(xlam).iter(f"{CUSTOMUI_NS}button"))
    if not buttons:
        problems.append("customUI has no buttons")
    for button in buttons:
        action = button.get("onAction", "")
        module, _, sub = action.partition(".")
        if module not in modules:
            problems.append(f"onAction {action}: module {module} not in the VBA project")
        elif sub.lower() not in public_subs(modules[module]):
            problems.append(f"onAction {action}: no Public Sub {sub}(control As IRibbonControl)")
    return problems


def runpython_targets(source: str) -> list[tuple[str, str]]:
    """(module, function) of every ``RunPython "import m as r; r.f()"`` in VBA source."""
    return [(m[1], m[3]) for m in RUNPYTHON.finditer(source)]


def target_problems(targets: Sequence[tuple[str, str]]) -> list[str]:
    problems = []
    if not targets:
        problems.append("no RunPython targets found")
    for module_name, function in targets:
        try:
            module = importlib.import_module(module_name)
        except ImportError as exc:
            problems.append(f"RunPython target {module_name} does not import: {exc}")
            continue
        if not callable(getattr(module, function, None)):
            problems.append(f"RunPython target {module_name}.{function} is not callable")
    return problems


def check_addin(xlam: Path, expected_modules: Iterable[str]) -> list[str]:
    """The olevba-based checks together: modules readable, present, and wired to the ribbon."""
    result = olevba_modules(xlam)
    problems = result.problems + missing_modules(result.modules, expected_modules)
    if not problems:
        problems += ribbon_problems(xlam, result.modules)
        problems += target_problems(runpython_targets(result.modules.get("RibbonKuden", "")))
    return problems


def conf_sheet(xlam: Path, sheet: str) -> dict[str, object]:
    """Column A → column B of ``sheet``, read by openpyxl.

    openpyxl refuses the add-in content type, so it reads a copy whose workbook part is
    declared as a macro-enabled workbook; the sheet XML itself is untouched.
    """
    import openpyxl

    buf = io.BytesIO()
    with zipfile.ZipFile(xlam) as src, zipfile.ZipFile(buf, "w") as dst:
        for info in src.infolist():
            data = src.read(info)
            if info.filename == "[Content_Types].xml":
                data = data.replace(
                    b"application/vnd.ms-excel.addin.macroEnabled.main+xml",
                    b"application/vnd.ms-excel.sheet.macroEnabled.main+xml",
                )
            dst.writestr(info, data)
    buf.seek(0)
    wb = openpyxl.load_workbook(buf)
    try:
        ws = wb[sheet]
        return {row[0].value: row[1].value for row in ws.iter_rows(max_col=2) if row[0].value}
    finally:
        wb.close()


# --- LibreOffice ---------------------------------------------------------------------------


def soffice() -> str | None:
    return shutil.which("soffice") or shutil.which("libreoffice")


def convert_with_libreoffice(files: Sequence[Path], outdir: Path, home: Path) -> None:
    """Convert .xlam files to .ods in one LibreOffice run (HOME isolates its profile)."""
    exe = soffice()
    assert exe is not None
    proc = subprocess.run(
        [exe, "--headless", "--infilter=Calc MS Excel 2007 VBA XML", "--convert-to", "ods",
         "--outdir", str(outdir), *map(str, files)],
        env={**os.environ, "HOME": str(home)},
        capture_output=True, text=True, timeout=180, check=False,
    )  # fmt: skip
    missing = [f for f in files if not (outdir / f"{f.stem}.ods").exists()]
    assert proc.returncode == 0 and not missing, (proc.returncode, proc.stdout, proc.stderr)


_SCRIPT_NS = "{http://openoffice.org/2000/script}"


def libreoffice_modules(ods: Path) -> tuple[dict[str, dict[str, str]], list[str]]:
    """Basic library → module → source, as LibreOffice imported the VBA project.

    LibreOffice does not always drop a module it cannot decode: it may write it truncated, as
    malformed XML. Such a module is left out and reported as a problem.
    """
    libraries: dict[str, dict[str, str]] = {}
    problems = []
    with zipfile.ZipFile(ods) as z:
        for name in z.namelist():
            parts = name.split("/")
            if len(parts) != 3 or parts[0] != "Basic" or parts[2].startswith("script-"):
                continue
            try:
                root = ElementTree.fromstring(z.read(name))
            except ElementTree.ParseError as exc:
                problems.append(f"LibreOffice wrote {name} as malformed XML ({exc})")
                continue
            module = root.get(f"{_SCRIPT_NS}name", parts[2].removesuffix(".xml"))
            libraries.setdefault(parts[1], {})[module] = root.text or ""
    return libraries, problems


def code_lines(source: str) -> list[str]:
    """Non-empty lines other than ``Attribute`` lines (LibreOffice turns those into Rem)."""
    return [x for x in source.splitlines() if x.strip() and not x.startswith("Attribute ")]


def libreoffice_problems(ods: Path, project: str, expected: Mapping[str, str]) -> list[str]:
    """The VBA project as LibreOffice imported it must hold every expected module (name →
    source) with all of its code lines; LibreOffice adds only Rem and Option lines."""
    libraries, problems = libreoffice_modules(ods)
    modules = libraries.get(project, {})
    if not modules:
        problems.append(f"LibreOffice found no Basic library {project}")
    problems += missing_modules(modules, expected)
    for name, source in expected.items():
        if name in modules:
            lines = set(modules[name].splitlines())
            lost = [x for x in code_lines(source) if x not in lines]
            if lost:
                problems.append(
                    f"LibreOffice: module {name} lacks {len(lost)} lines, e.g. {lost[0]!r}"
                )
    return problems


def libreoffice_sheets(ods: Path) -> list[str]:
    with zipfile.ZipFile(ods) as z:
        content = z.read("content.xml").decode("utf-8")
    return re.findall(r'<table:table table:name="([^"]*)"', content)
