"""The kuden_xl.xlam builder, checked on Linux without Excel.

Readers independent of the builder do the checking: oletools' olevba and decompress_stream,
olefile, openpyxl and LibreOffice (its own CFB, dir and decompression code). The sample UDF and
ribbon modules in this folder stand in for kuden_xl.excel.udfs / ribbon; one test builds with
the real ones once they exist. Windows Excel must still confirm what no reader here can: that the
VBE compiles the modules, the ribbon renders, and RunPython reaches Python.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import json
import os
import random
import re
import subprocess
import sys
import zipfile
from dataclasses import replace
from pathlib import Path

import addin_checks as checks
import olefile
import pytest
import xlwings as xw
from addin_checks import decompress_stream

from kuden_xl.errors import KudenError
from kuden_xl.excel.addin import cfb, ovba, udf_wrappers, vbaproject
from kuden_xl.excel.addin.build import BuildReport, build_addin, default_template
from kuden_xl.excel.addin.buttons import BUTTONS, SCHEDULED, TAB_LABEL

SAMPLE_UDFS = "addin_sample_udfs"
SAMPLE_RIBBON = "addin_sample_ribbon"
MODULES = ("ThisWorkbook", "Dictionary", "RibbonKuden", "Sheet2", "xlwings", "xlwings_udfs")
UNTOUCHED = ("Dictionary", "Sheet2")
TEMPLATE = default_template()
# Every RunPython of RibbonKuden: one per button, then the OnTime-scheduled ones.
ENTRY_POINTS = [b.entry_point for b in BUTTONS] + [entry for _, entry in SCHEDULED]


def build_sample(output: Path) -> BuildReport:
    return build_addin(output, udf_modules=[SAMPLE_UDFS], ribbon_module=SAMPLE_RIBBON)


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> BuildReport:
    return build_sample(tmp_path_factory.mktemp("addin") / "kuden_xl.xlam")


@pytest.fixture(scope="module")
def olevba_built(built: BuildReport) -> checks.OlevbaResult:
    return checks.olevba_modules(built.output)


def vba_streams(xlam: Path) -> olefile.OleFileIO:
    with zipfile.ZipFile(xlam) as z:
        return olefile.OleFileIO(
            z.read("xl/vbaProject.bin"), raise_defects=olefile.DEFECT_INCORRECT
        )


# --- the built add-in ------------------------------------------------------------------------


def test_report_lists_what_was_built(built: BuildReport) -> None:
    assert built.modules == MODULES
    assert built.udf_functions == ("SAMPLE_COUNT", "SAMPLE_DIGITS", "SAMPLE_JOIN")
    assert built.xlwings_version == xw.__version__
    assert built.size == built.output.stat().st_size
    assert 20_000 < built.size < 100_000


def test_ribbon_tab_groups_and_buttons(built: BuildReport) -> None:
    ui = checks.custom_ui(built.output)
    ns = checks.CUSTOMUI_NS
    tabs = list(ui.iter(f"{ns}tab"))
    assert [t.get("label") for t in tabs] == ["SMS送信"] == [TAB_LABEL]
    groups = {g.get("label"): [b.get("label") for b in g.iter(f"{ns}button")] for g in tabs[0]}
    assert groups == {
        "送信": ["選択行を送信", "中止", "送信プレビュー"],
        "確認": ["番号チェック", "配信結果を更新"],
        "記録": ["年次レポート"],
        "設定": ["設定シート作成", "接続テスト"],
    }
    for button in ui.iter(f"{ns}button"):
        assert re.fullmatch(r"RibbonKuden\.[A-Za-z]\w*", button.get("onAction", ""))
        assert button.get("imageMso")


def test_customui_is_utf8_and_referenced_from_root_rels(built: BuildReport) -> None:
    with zipfile.ZipFile(built.output) as z:
        raw = z.read("customUI/customUI.xml")
        template_types = zipfile.ZipFile(TEMPLATE).read("[Content_Types].xml")
        assert z.read("[Content_Types].xml") == template_types  # still an add-in, same parts
    assert raw.startswith(b'<?xml version="1.0" encoding="UTF-8"')
    assert "選択行を送信".encode() in raw


def test_icons_are_excel_controls() -> None:
    # AcceptInvitation is an Outlook control: Excel showed no icon for 番号チェック. These names
    # are Excel ribbon controls (Data → Data Validation, File → Print Preview, …); Excel itself
    # confirms that they render (README checklist).
    icons = {b.id: b.image_mso for b in BUTTONS}
    assert icons["kudenCheckSheet"] == "DataValidation"
    assert "AcceptInvitation" not in icons.values()


def test_customui_relationship_type_matches_its_namespace(built: BuildReport) -> None:
    pairs = {
        "http://schemas.microsoft.com/office/2006/01/customui":
            "http://schemas.microsoft.com/office/2006/relationships/ui/extensibility",
        "http://schemas.microsoft.com/office/2009/07/customui":
            "http://schemas.microsoft.com/office/2007/relationships/ui/extensibility",
    }  # fmt: skip
    with zipfile.ZipFile(built.output) as z:
        rels = z.read("_rels/.rels").decode()
        types = re.findall(r'Type="([^"]*/ui/extensibility)" Target="/?([^"]*)"', rels)
        [(rel_type, target)] = types
        namespace = re.search(r'<customUI xmlns="([^"]*)"', z.read(target).decode())
    assert namespace is not None and pairs[namespace[1]] == rel_type


def test_olevba_extracts_every_module_without_problems(olevba_built: checks.OlevbaResult) -> None:
    assert olevba_built.problems == []
    assert sorted(olevba_built.modules) == sorted(MODULES)


def test_every_onaction_is_a_public_ribbon_sub(
    built: BuildReport, olevba_built: checks.OlevbaResult
) -> None:
    assert checks.ribbon_problems(built.output, olevba_built.modules) == []
    subs = checks.public_subs(olevba_built.modules["RibbonKuden"])
    assert subs == {b.sub_name.lower() for b in BUTTONS}


def test_runpython_targets_import_and_run(olevba_built: checks.OlevbaResult) -> None:
    ribbon = olevba_built.modules["RibbonKuden"]
    targets = checks.runpython_targets(ribbon)
    assert targets == [(SAMPLE_RIBBON, e) for e in ENTRY_POINTS]
    assert checks.target_problems(targets) == []
    # Run each command exactly as xlwings' RunPython would hand it to Python.
    sample = importlib.import_module(SAMPLE_RIBBON)
    sample.calls.clear()
    for command in re.findall(r'RunPython "([^"]*)"', ribbon):
        exec(command, {})
    assert sample.calls == ENTRY_POINTS


def test_on_time_subs_run_the_slices_of_a_send_and_of_a_refresh(
    olevba_built: checks.OlevbaResult,
) -> None:
    """Application.OnTime runs these Subs by name ("'kuden_xl.xlam'!RibbonKuden.<sub>")."""
    ribbon = olevba_built.modules["RibbonKuden"]
    for sub, entry in [
        ("SendNextSlice", "send_next_slice"),
        ("RefreshNextSlice", "refresh_next_slice"),
    ]:
        body = ribbon.split(f"Public Sub {sub}()\r\n")[1].split("End Sub")[0]
        assert checks.runpython_targets(body) == [(SAMPLE_RIBBON, entry)]
        assert callable(getattr(importlib.import_module("kuden_xl.excel.ribbon"), entry))


def test_project_name_and_xlwings_version(olevba_built: checks.OlevbaResult) -> None:
    source = olevba_built.modules["xlwings"]
    assert 'Public Const PROJECT_NAME As String = "kuden_xl"' in source.splitlines()
    assert f'Public Const XLWINGS_VERSION As String = "{xw.__version__}"' in source.splitlines()


def test_vba_project_name_id_and_protection_lines(built: BuildReport) -> None:
    ole, template = vba_streams(built.output), vba_streams(TEMPLATE)
    project = ole.openstream("PROJECT").read().decode("cp1252").split("\r\n")
    original = template.openstream("PROJECT").read().decode("cp1252").split("\r\n")
    assert 'Name="kuden_xl"' in project
    for key in ("ID=", "CMG=", "DPB=", "GC="):
        assert [x for x in project if x.startswith(key)] == [
            x for x in original if x.startswith(key)
        ]
    assert "Module=RibbonKuden" in project and "Module=xlwings_udfs" in project
    assert ole.openstream("VBA/_VBA_PROJECT").read() == bytes.fromhex("cc61ffff000100")


def test_untouched_modules_are_byte_identical(built: BuildReport) -> None:
    ole, template = vba_streams(built.output), vba_streams(TEMPLATE)
    for name in UNTOUCHED:
        assert ole.openstream(f"VBA/{name}").read() == template.openstream(f"VBA/{name}").read()
    assert not ole.exists("VBA/RibbonMyAddin")


def test_changed_modules_are_source_only(
    built: BuildReport, olevba_built: checks.OlevbaResult
) -> None:
    """MODULEOFFSET 0: the stream is the compressed source and nothing else."""
    ole = vba_streams(built.output)
    for name in ("RibbonKuden", "xlwings", "xlwings_udfs", "ThisWorkbook"):
        text = decompress_stream(bytearray(ole.openstream(f"VBA/{name}").read())).decode("cp1252")
        assert text.splitlines()[0] == f'Attribute VB_Name = "{name}"'
        assert olevba_built.modules[name].splitlines() == text.splitlines()


def test_xlwings_module_differs_from_template_only_in_project_name(
    olevba_built: checks.OlevbaResult,
) -> None:
    original = checks.olevba_modules(TEMPLATE)
    assert original.problems == []
    old, new = (
        original.modules["xlwings"].splitlines(),
        olevba_built.modules["xlwings"].splitlines(),
    )
    assert len(old) == len(new)
    diff = [(a, b) for a, b in zip(old, new, strict=True) if a != b]
    assert diff == [
        (
            'Public Const PROJECT_NAME As String = "myaddin"',
            'Public Const PROJECT_NAME As String = "kuden_xl"',
        )
    ]
    for name in UNTOUCHED:
        assert olevba_built.modules[name] == original.modules[name]


def macro_options_calls(source: str) -> dict[str, tuple[str, str, list[str]]]:
    """Run the string building of Workbook_Open (``x = ""`` / ``x = x & ChrW(..) & "..."``) and
    record what each MacroOptions call receives: name -> (category, description, arguments)."""
    values: dict[str, str] = {}
    calls: dict[str, tuple[str, str, list[str]]] = {}
    for line in source.splitlines():
        line = line.strip()
        if m := re.fullmatch(r'(\w+) = ""', line):
            values[m[1]] = ""
        elif m := re.fullmatch(r"(\w+) = \1 & (.*)", line):
            for code, literal in re.findall(r'ChrW\((\d+)\)|"((?:[^"]|"")*)"', m[2]):
                values[m[1]] += chr(int(code)) if code else literal.replace('""', '"')
        elif m := re.match(r"Application\.MacroOptions Macro:=.*'!(\w+)\", (.*)", line):
            args = re.search(r"ArgumentDescriptions:=Array\(([^)]*)\)", m[2])
            names = args[1].split(", ") if args else []
            assert "Description:=d, Category:=c" in m[2]
            calls[m[1]] = (values["c"], values["d"], [values[a] for a in names])
    return calls


def test_workbook_open_sets_the_function_wizard_help(
    olevba_built: checks.OlevbaResult,
) -> None:
    """MacroOptions from Workbook_Open, strings from ChrW: read back, they are the UDF docs."""
    source = olevba_built.modules["ThisWorkbook"]
    template = checks.olevba_modules(TEMPLATE).modules["ThisWorkbook"]
    header = [line for line in template.splitlines() if line.startswith("Attribute ")]
    assert source.splitlines()[: len(header)] == header  # still the workbook's document module
    assert source.isascii() and "Private Sub Workbook_Open()" in source
    assert "On Error Resume Next" in source  # help texts never stop the add-in from loading
    functions = udf_wrappers.generate([SAMPLE_UDFS]).functions
    calls = macro_options_calls(source)
    assert sorted(calls) == sorted(functions)
    for name, meta in functions.items():
        args = [a["doc"][:255] for a in meta["args"] if not a.get("vba")]
        assert calls[name] == (meta["category"], meta["ret"]["doc"][:255], args), name
    assert calls["SAMPLE_DIGITS"][2] == ["電話番号"]


def test_function_help_of_the_real_udfs_is_japanese(tmp_path: Path) -> None:
    from kuden_xl.excel.addin.function_help import render_this_workbook

    functions = udf_wrappers.generate(["kuden_xl.excel.udfs"]).functions
    calls = macro_options_calls(
        render_this_workbook('Attribute VB_Name = "ThisWorkbook"', functions)
    )
    assert set(calls) == set(functions) and all(c[0] == "kuden_xl" for c in calls.values())
    assert calls["KUDEN_CHECK"][1].startswith("SMSを受け取れる携帯番号なら OK")
    assert calls["KUDEN_RENDER"][2][1] == "見出し行の範囲（例: $A$1:$F$1）"
    assert all(len(t) <= 255 for c in calls.values() for t in (c[1], *c[2]))


def test_udf_wrapper_module_in_the_addin(olevba_built: checks.OlevbaResult) -> None:
    source = olevba_built.modules["xlwings_udfs"]
    for name in ("SAMPLE_COUNT", "SAMPLE_DIGITS", "SAMPLE_JOIN"):
        assert f'XLPy.CallUDF("{SAMPLE_UDFS}", "{name}", ' in source


def test_conf_sheet(built: BuildReport) -> None:
    with zipfile.ZipFile(built.output) as z:
        book = z.read("xl/workbook.xml").decode()
    assert '<sheet name="kuden_xl.conf"' in book and "_myaddin.conf" not in book
    conf = checks.conf_sheet(built.output, "kuden_xl.conf")
    assert conf["UDF Modules"] == SAMPLE_UDFS
    assert conf["Use UDF Server"] is True
    assert conf["Debug UDFs"] is False and conf["Show Console"] is False
    # No empty rows: xlwings stops at the first conf source that has a key, even an empty one,
    # so an empty Interpreter_Win / PYTHONPATH / Conda row would hide the user's conf file.
    assert list(conf) == ["UDF Modules", "Debug UDFs", "Use UDF Server", "Show Console",
                          "kuden_xl Version", "xlwings Version"]  # fmt: skip
    assert all(v not in (None, "") for v in conf.values())
    # What the add-in was built with, compared with Python's packages at each click.
    assert conf["xlwings Version"] == xw.__version__
    assert conf["kuden_xl Version"] == importlib.metadata.version("kuden_xl")


def test_interpreter_goes_into_the_conf_sheet(tmp_path: Path) -> None:
    path = r"C:\Users\山田\AppData\Local\Programs\Python\Python311\pythonw.exe"
    report = build_addin(
        tmp_path / "k.xlam", udf_modules=[SAMPLE_UDFS], ribbon_module=SAMPLE_RIBBON,
        interpreter=path,
    )  # fmt: skip
    conf = checks.conf_sheet(report.output, "kuden_xl.conf")
    assert list(conf)[0] == "Interpreter_Win" and conf["Interpreter_Win"] == path


@pytest.mark.parametrize("bad", ["pythonw", "python3", "/usr/bin/python3", "C:\\Python\\"])
def test_interpreter_must_be_a_windows_path_to_an_exe(tmp_path: Path, bad: str) -> None:
    with pytest.raises(KudenError, match="pythonw.exe のフルパス"):
        build_addin(tmp_path / "k.xlam", udf_modules=[SAMPLE_UDFS], interpreter=bad)


# --- the guard before RunPython (Python and DLL present, a workbook open) ---------------------


def vba_messages(source: str) -> list[str]:
    """Evaluate the ``m = m & ChrW(..) & "..." & var`` runs of a module: each run's text, with
    variables shown as ``{name}``. An independent reading of what the MsgBox will say."""
    messages: list[str] = []
    current: list[str] | None = None
    for line in source.splitlines():
        line = line.strip()
        if line == 'm = ""':
            current = []
            messages.append("")
            continue
        if current is not None and line.startswith("m = m & "):
            text = ""
            for token in re.findall(r'ChrW\((\d+)\)|"((?:[^"]|"")*)"|(\w+)', line[8:]):
                code, literal, name = token
                if code:
                    text += chr(int(code))
                elif name:
                    text += "\n" if name == "vbCrLf" else "{" + name + "}"
                else:
                    text += literal.replace('""', '"')
            messages[-1] += text
            continue
        current = None
    return messages


def test_every_button_checks_python_and_the_workbook_before_runpython(
    olevba_built: checks.OlevbaResult,
) -> None:
    from kuden_xl.excel.addin import guard

    ribbon = olevba_built.modules["RibbonKuden"]
    assert ribbon.isascii()  # the VBA project's code page cannot hold Japanese
    heads = [f"Public Sub {b.sub_name}(control As IRibbonControl)" for b in BUTTONS]
    heads += [f"Public Sub {sub}()" for sub, _ in SCHEDULED]
    for head in heads:
        body = ribbon.split(head)[1]
        body = body.split("End Sub")[0].strip().splitlines()
        assert body[0].strip() == "If Not KudenReady() Then Exit Sub" and "RunPython" in body[1]
    assert ribbon.index("If ActiveWorkbook Is Nothing Then") < ribbon.index("GetConfig(")
    messages = vba_messages(ribbon)
    nl = "\n"
    expected = [guard.NO_WORKBOOK, guard.NO_PYTHON, guard.NO_DLL, guard.TITLE]
    assert messages == [
        m.replace("{nl}", nl).replace("{version}", "{XLWINGS_VERSION}") for m in expected
    ]
    assert "pip install xlwings=={XLWINGS_VERSION}" in messages[2] and "--user" in messages[2]
    assert "--interpreter" in messages[1] and "{interpreter}" in messages[1]
    # The DLL is looked for where xlwings' XLPyLoadDLL looks: the folder and its parent.
    assert 'KudenFileExists(KudenParent(found) & "\\" & dll)' in ribbon
    assert 'KudenFileExists(KudenParent(KudenParent(found)) & "\\" & dll)' in ribbon
    assert '"xlwings64-" & XLWINGS_VERSION & ".dll"' in ribbon
    assert "Public Const XLWINGS_VERSION As String" in olevba_built.modules["xlwings"]


def test_vba_text_keeps_lines_short_and_ascii() -> None:
    from kuden_xl.excel.addin.guard import vba_text

    lines = vba_text("m", "あ" * 500 + 'say "hi" {nl}')
    assert all(line.isascii() and len(line) < 1023 for line in lines)
    assert vba_messages("\n".join(lines)) == ["あ" * 500 + 'say "hi" \n']


def test_olefile_strict_parse(built: BuildReport) -> None:
    ole = vba_streams(built.output)
    streams = sorted("/".join(e) for e in ole.listdir())
    assert streams == sorted(
        ["PROJECT", "PROJECTwm", "VBA/_VBA_PROJECT", "VBA/dir"] + [f"VBA/{m}" for m in MODULES]
    )


def test_build_is_deterministic(built: BuildReport, tmp_path: Path) -> None:
    again = build_sample(tmp_path / "again.xlam")
    assert again.output.read_bytes() == built.output.read_bytes()


# --- negative controls: the same checks catch corrupt builds ---------------------------------


def corrupt(src: Path, dst: Path, how: str) -> None:
    """Copy ``src`` to ``dst`` with one defect in ``xl/vbaProject.bin``."""
    with zipfile.ZipFile(src) as z:
        infos = z.infolist()
        parts = {i.filename: z.read(i) for i in infos}
    streams = cfb.read(parts["xl/vbaProject.bin"])
    if how == "ribbon_chunk_header":
        stream = bytearray(streams["VBA/RibbonKuden"])
        stream[1:3] = b"\0\0"  # the first chunk header: signature bits no longer 0b011
        streams["VBA/RibbonKuden"] = bytes(stream)
    elif how == "xlwings_moduleoffset":
        project = vbaproject.parse_dir(ovba.decompress(streams["VBA/dir"]))
        modules = tuple(m.with_offset(5) if m.name == "xlwings" else m for m in project.modules)
        streams["VBA/dir"] = ovba.compress(replace(project, modules=modules).encode())
    elif how == "dir_truncated":
        raw = ovba.decompress(streams["VBA/dir"])
        streams["VBA/dir"] = ovba.compress(raw[: len(raw) // 2])
    else:
        raise AssertionError(how)
    parts["xl/vbaProject.bin"] = cfb.write(streams)
    with zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as z:
        for info in infos:
            z.writestr(info.filename, parts[info.filename])


@pytest.mark.parametrize("how", ["ribbon_chunk_header", "xlwings_moduleoffset", "dir_truncated"])
def test_checks_catch_a_corrupt_build(built: BuildReport, tmp_path: Path, how: str) -> None:
    assert checks.check_addin(built.output, MODULES) == []
    bad = tmp_path / f"{how}.xlam"
    corrupt(built.output, bad, how)
    problems = checks.check_addin(bad, MODULES)
    assert problems, how
    assert any("olevba" in p for p in problems)


# --- LibreOffice as an independent reader ----------------------------------------------------


CORRUPTIONS = ["ribbon_chunk_header", "xlwings_moduleoffset", "dir_truncated"]


@pytest.fixture(scope="module")
def libreoffice(built: BuildReport, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Convert the good build and each corrupt one to .ods in one (slow) LibreOffice run."""
    if checks.soffice() is None:
        reason = "LibreOffice is not installed (apt-get install -y libreoffice-calc-nogui)"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{reason}; CI must run the LibreOffice checks")
        pytest.skip(reason)
    work = tmp_path_factory.mktemp("libreoffice")
    files = {"good": work / "good.xlam"}
    files["good"].write_bytes(built.output.read_bytes())
    for how in CORRUPTIONS:
        files[how] = work / f"{how}.xlam"
        corrupt(built.output, files[how], how)
    out = work / "out"
    checks.convert_with_libreoffice(list(files.values()), out, home=work / "home")
    return {key: out / f"{path.stem}.ods" for key, path in files.items()}


def test_libreoffice_reads_every_module(
    libreoffice: dict[str, Path], olevba_built: checks.OlevbaResult
) -> None:
    ods = libreoffice["good"]
    # Every code line olevba read is in LibreOffice's import too: two decoders agree.
    assert checks.libreoffice_problems(ods, "kuden_xl", olevba_built.modules) == []
    libraries, problems = checks.libreoffice_modules(ods)
    assert set(libraries) == {"kuden_xl"} and problems == []  # the VBA project name
    modules = libraries["kuden_xl"]
    assert sorted(modules) == sorted(MODULES)
    ribbon = modules["RibbonKuden"]
    assert checks.public_subs(ribbon) == {b.sub_name.lower() for b in BUTTONS}
    assert checks.runpython_targets(ribbon) == [(SAMPLE_RIBBON, e) for e in ENTRY_POINTS]
    assert 'Public Const PROJECT_NAME As String = "kuden_xl"' in modules["xlwings"]
    assert f'XLPy.CallUDF("{SAMPLE_UDFS}", "SAMPLE_COUNT"' in modules["xlwings_udfs"]
    assert "kuden_xl.conf" in checks.libreoffice_sheets(ods)


@pytest.mark.parametrize("how", CORRUPTIONS)
def test_libreoffice_check_catches_a_corrupt_build(
    libreoffice: dict[str, Path], olevba_built: checks.OlevbaResult, how: str
) -> None:
    # LibreOffice stays silent: it writes such a module empty, truncated, or not at all.
    assert checks.libreoffice_problems(libreoffice[how], "kuden_xl", olevba_built.modules) != []


# --- LibreOffice Basic runs the generated VBA (an independent interpreter) -------------------

LO_BASIC = Path(__file__).with_name("lo_basic.py")
SYSTEM_PYTHON = "/usr/bin/python3"


def run_in_libreoffice_basic(code: str, functions: list[str]) -> dict[str, str]:
    """Call ``functions`` of a VBA module in LibreOffice Basic (``lo_basic.py``)."""
    probe = subprocess.run([SYSTEM_PYTHON, "-c", "import uno"], capture_output=True)
    if checks.soffice() is None or probe.returncode != 0:
        reason = "LibreOffice with its Python bridge (uno) is not installed"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{reason}; CI must run the LibreOffice checks")
        pytest.skip(reason)
    request = json.dumps({"code": code, "functions": functions})
    done = subprocess.run(
        [SYSTEM_PYTHON, str(LO_BASIC)], input=request, capture_output=True, text=True,
        encoding="utf-8", timeout=180,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    results: dict[str, str] = json.loads(done.stdout)
    return results


def text_builders(source: str) -> list[tuple[str, list[str]]]:
    """Each run of ``x = ""`` / ``x = x & ...`` lines in a module: (variable, lines)."""
    runs: list[tuple[str, list[str]]] = []
    for line in source.splitlines():
        line = line.strip()
        if m := re.fullmatch(r'(\w+) = ""', line):
            runs.append((m[1], [line]))
        elif runs and line.startswith(f"{runs[-1][0]} = {runs[-1][0]} & "):
            runs[-1][1].append(line)
    return runs


@pytest.fixture(scope="module")
def real_addin(tmp_path_factory: pytest.TempPathFactory) -> checks.OlevbaResult:
    report = build_addin(tmp_path_factory.mktemp("real") / "kuden_xl.xlam")
    return checks.olevba_modules(report.output)


def test_libreoffice_basic_turns_the_na_sentinel_into_xlerrna(
    real_addin: checks.OlevbaResult,
) -> None:
    """KudenErrors, as built into the add-in, run by LibreOffice Basic (VBA support): the
    sentinel becomes error 2042 (xlErrNA, what ISNA tests) alone, in a column and in a row."""
    udfs_module = real_addin.modules["xlwings_udfs"]
    conversion = udfs_module[udfs_module.index('\' "#N/A" texts from Python') :]
    code = "\n".join([
        "Option VBASupport 1",
        conversion,
        "Function KDescribe(v As Variant) As String",
        "    If IsError(v) Then",
        '        KDescribe = "E" & CStr(CLng(v))',
        "    Else",
        "        KDescribe = CStr(v)",
        "    End If",
        "End Function",
        "Function TestScalar() As String",
        '    TestScalar = KDescribe(KudenErrors("#N/A")) & "|" & KDescribe(KudenErrors("0901"))',
        "End Function",
        "Function TestColumn() As String",
        "    Dim a(1 To 3, 1 To 1) As Variant, r As Variant",
        '    a(1, 1) = "09012341010": a(2, 1) = "#N/A": a(3, 1) = ""',
        "    r = KudenErrors(a)",
        '    TestColumn = KDescribe(r(1, 1)) & "|" & KDescribe(r(2, 1)) & "|" & KDescribe(r(3, 1))',
        "End Function",
        "Function TestRow() As String",
        "    Dim r As Variant",
        '    r = KudenErrors(Array("#N/A", "x"))',
        '    TestRow = KDescribe(r(0)) & "|" & KDescribe(r(1))',
        "End Function",
        "Function TestNA() As String",
        '    TestNA = CStr(xlErrNA)',
        "End Function",
    ])  # fmt: skip
    got = run_in_libreoffice_basic(code, ["TestScalar", "TestColumn", "TestRow", "TestNA"])
    assert got == {
        "TestScalar": "E2042|0901",
        "TestColumn": "09012341010|E2042|",
        "TestRow": "E2042|x",
        "TestNA": "2042",
    }


def test_libreoffice_basic_builds_the_japanese_texts(real_addin: checks.OlevbaResult) -> None:
    """The ChrW strings of the guard (RibbonKuden) and of the function help (ThisWorkbook),
    run by LibreOffice Basic, are the Japanese texts kuden_xl meant."""
    from kuden_xl.excel.addin import guard
    from kuden_xl.excel.addin.function_help import function_help

    builders = text_builders(real_addin.modules["RibbonKuden"])
    builders += text_builders(real_addin.modules["ThisWorkbook"])
    lines = [
        "Option VBASupport 1",
        'Const XLWINGS_VERSION As String = "{XLWINGS_VERSION}"',
    ]
    for i, (variable, body) in enumerate(builders):
        lines += [
            f"Function Text{i}() As String",
            f"    Dim {variable} As String",
            "    Dim interpreter As String, dll As String, where As String",
            '    interpreter = "{interpreter}": dll = "{dll}": where = "{where}"',
            *body,
            f"    Text{i} = {variable}",
            "End Function",
        ]
    got = run_in_libreoffice_basic("\n".join(lines), [f"Text{i}" for i in range(len(builders))])
    texts = [got[f"Text{i}"] for i in range(len(builders))]
    guard_texts = [guard.NO_WORKBOOK, guard.NO_PYTHON, guard.NO_DLL, guard.TITLE]
    expected = [
        t.replace("{nl}", "\r\n").replace("{version}", "{XLWINGS_VERSION}") for t in guard_texts
    ]
    functions = udf_wrappers.generate(["kuden_xl.excel.udfs"]).functions
    for _, category, description, args in function_help(functions):
        expected += [category, description, *args]
    assert texts == expected


# --- the real UDF and ribbon modules ---------------------------------------------------------


def test_build_with_the_real_udf_and_ribbon_modules(tmp_path: Path) -> None:
    report = build_addin(tmp_path / "kuden_xl.xlam")
    assert report.udf_modules == ("kuden_xl.excel.udfs",) and report.udf_functions
    assert checks.check_addin(report.output, MODULES) == []
    ribbon = checks.olevba_modules(report.output).modules["RibbonKuden"]
    assert {m for m, _ in checks.runpython_targets(ribbon)} == {"kuden_xl.excel.ribbon"}
    conf = checks.conf_sheet(report.output, "kuden_xl.conf")
    assert conf["UDF Modules"] == "kuden_xl.excel.udfs" and conf["Use UDF Server"] is True


# --- build errors ----------------------------------------------------------------------------


def test_missing_template_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(KudenError, match="ひな形が見つかりません"):
        build_addin(
            tmp_path / "x.xlam",
            udf_modules=[SAMPLE_UDFS],
            ribbon_module=SAMPLE_RIBBON,
            template=tmp_path / "nope.xlam",
        )
    assert not (tmp_path / "x.xlam").exists()


def test_missing_ribbon_entry_point_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(KudenError, match="send_selected"):
        build_addin(tmp_path / "x.xlam", udf_modules=[SAMPLE_UDFS], ribbon_module=SAMPLE_UDFS)


def test_template_from_another_xlwings_version_is_refused(tmp_path: Path) -> None:
    """The VBA loads xlwings64-<XLWINGS_VERSION>.dll: it must match the installed xlwings."""
    with zipfile.ZipFile(TEMPLATE) as z:
        infos = z.infolist()
        parts = {i.filename: z.read(i) for i in infos}
    vba = vbaproject.VbaFile.read(parts["xl/vbaProject.bin"])
    old_version = vba.source("xlwings").replace(
        f'XLWINGS_VERSION As String = "{xw.__version__}"', 'XLWINGS_VERSION As String = "0.30.0"'
    )
    change = vbaproject.ModuleChange("xlwings", old_version, "xlwings")
    parts["xl/vbaProject.bin"] = vbaproject.rebuild(vba, project_name="MyAddin", changes=[change])
    template = tmp_path / "old_template.xlam"
    with zipfile.ZipFile(template, "w") as z:
        for info in infos:
            z.writestr(info, parts[info.filename])
    with pytest.raises(KudenError, match=r"XLWINGS_VERSION 0\.30\.0 != installed"):
        build_addin(
            tmp_path / "x.xlam",
            udf_modules=SAMPLE_UDFS,
            ribbon_module=SAMPLE_RIBBON,
            template=template,
        )


def test_a_single_module_name_string_is_one_module(tmp_path: Path) -> None:
    report = build_addin(tmp_path / "x.xlam", udf_modules=SAMPLE_UDFS, ribbon_module=SAMPLE_RIBBON)
    assert report.udf_modules == (SAMPLE_UDFS,)


def write_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str, body: str) -> str:
    (tmp_path / f"{name}.py").write_text(body, encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    return name


def test_non_ascii_udf_name_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The VBA project's code page (1252) cannot hold a Japanese function name."""
    body = "import xlwings as xw\n\n@xw.func\ndef 番号(x):\n    return x\n"
    name = write_module(tmp_path, monkeypatch, "addin_jp_udfs", body)
    with pytest.raises(KudenError, match="UDF のラッパーを作成できません.*not an ASCII VBA name"):
        build_addin(tmp_path / "x.xlam", udf_modules=[name], ribbon_module=SAMPLE_RIBBON)
    assert not (tmp_path / "x.xlam").exists()


@pytest.mark.parametrize(
    ("signature", "complaint"),
    [
        ("ABC1(x)", "cell reference"),  # Excel would read =ABC1(A2) as a reference
        ("KUDEN_X(end)", "argument 'end' clashes"),  # a VBA keyword as a parameter
        ("KUDEN_X(k, *rest)", "argument 'k' clashes"),  # xlwings' wrapper uses k itself
        ("KUDEN_X(kuden_x)", "argument 'kuden_x' clashes"),  # the function's own name
    ],
)
def test_udf_names_that_would_not_compile_in_vba_are_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, signature: str, complaint: str
) -> None:
    body = f"import xlwings as xw\n\n@xw.func\ndef {signature}:\n    return 1\n"
    name = write_module(tmp_path, monkeypatch, "addin_bad_udfs", body)
    with pytest.raises(udf_wrappers.UdfImportError, match=complaint):
        udf_wrappers.generate([name])


def test_udf_type_hint_without_converter_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """xlwings cannot convert to ``object``: the UDF would fail in every cell, so fail here."""
    body = "import xlwings as xw\n\n@xw.func\ndef F(x: object) -> str:\n    return str(x)\n"
    name = write_module(tmp_path, monkeypatch, "addin_object_udfs", body)
    with pytest.raises(udf_wrappers.UdfImportError, match="no converter"):
        udf_wrappers.generate([name])


def test_udf_module_without_udfs_is_refused() -> None:
    with pytest.raises(udf_wrappers.UdfImportError, match="no @xw.func"):
        udf_wrappers.generate([SAMPLE_RIBBON])


# --- the UDF wrapper generator ---------------------------------------------------------------


def test_udf_wrappers_for_the_sample_module() -> None:
    wrappers = udf_wrappers.generate([SAMPLE_UDFS])
    src = wrappers.source
    assert src.startswith('Attribute VB_Name = "xlwings_udfs"\r\n')
    assert "\n" not in src.replace("\r\n", "")
    assert "Function SAMPLE_DIGITS(number)\r\n" in src
    assert "Function SAMPLE_COUNT(values, Optional blank)\r\n" in src
    assert "Function SAMPLE_JOIN(ParamArray parts())\r\n" in src
    assert (
        f'SAMPLE_COUNT = XLPy.CallUDF("{SAMPLE_UDFS}", "SAMPLE_COUNT", Array(values, blank), '
        "ActiveWorkbook, Application.Caller)" in src
    )
    assert 'XLPy.CallUDF("addin_sample_udfs", "SAMPLE_JOIN", argsArray' in src
    assert "not_a_udf" not in src
    meta = wrappers.functions
    assert sorted(meta) == ["SAMPLE_COUNT", "SAMPLE_DIGITS", "SAMPLE_JOIN"]
    count_args = {a["name"]: a for a in meta["SAMPLE_COUNT"]["args"]}
    assert count_args["values"]["options"]["ndim"] == 2
    assert count_args["blank"]["optional"] == ""
    assert meta["SAMPLE_COUNT"]["category"] == "kuden_xl"
    assert meta["SAMPLE_DIGITS"]["args"][0]["doc"] == "電話番号"
    assert meta["SAMPLE_JOIN"]["args"][0]["vararg"] is True


def test_udf_generator_restores_the_process() -> None:
    """Stubs, real decorators and the re-imported UDF module all vanish after the call."""
    sample = importlib.import_module(SAMPLE_UDFS)  # the ordinary import, as other code sees it
    decorators = {n: getattr(xw, n) for n in ("func", "arg", "ret", "sub", "script")}
    before = set(sys.modules)

    udf_wrappers.generate([SAMPLE_UDFS])

    assert sys.modules[SAMPLE_UDFS] is sample
    assert not hasattr(sample.SAMPLE_COUNT, "__xlfunc__")
    assert {n: getattr(xw, n) for n in decorators} == decorators
    assert xw.func(len) is len  # still xlwings' no-op decorator off Windows
    leaked = {
        m
        for m in set(sys.modules) - before
        if m.split(".")[0] in ("xlwings", "pythoncom", "pywintypes", "win32com")
    }
    assert leaked == set()
    assert not hasattr(xw, "udfs")
    with pytest.raises(ImportError):
        importlib.import_module("xlwings.udfs")  # needs the real pywin32 again


# --- the compressor and the container writer -------------------------------------------------


def _random_text(size: int, seed: int) -> bytes:
    rng = random.Random(seed)
    words = ["Dim ", "As String", "\r\n", "    ", "If ", " Then", "End If", "x", "=", "1", "'"]
    text = "".join(rng.choice(words) + rng.choice("abcdefgh ") for _ in range(size))
    return text.encode("ascii")[:size]


@pytest.mark.parametrize(
    "size", [0, 1, 2, 3, 17, 1000, 4095, 4096, 4097, 6000, 8191, 8192, 8193, 12288]
)
def test_compressor_round_trips_random_text(size: int) -> None:
    data = _random_text(size, seed=size)
    packed = ovba.compress(data)
    assert decompress_stream(bytearray(packed)) == data
    assert ovba.decompress(packed) == data


def test_compressor_round_trips_the_xlwings_module_and_dir_stream() -> None:
    bas = (Path(xw.__file__).parent / "xlwings_custom_addin.bas").read_bytes()
    packed = ovba.compress(bas)
    assert decompress_stream(bytearray(packed)) == bas
    assert len(packed) < len(bas) // 2
    template_dir = decompress_stream(bytearray(vba_streams(TEMPLATE).openstream("VBA/dir").read()))
    assert decompress_stream(bytearray(ovba.compress(template_dir))) == template_dir


def test_compressor_stores_incompressible_full_chunks_raw() -> None:
    data = random.Random(7).randbytes(8192)
    packed = ovba.compress(data)
    assert len(packed) == 1 + 2 * (2 + 4096)
    assert decompress_stream(bytearray(packed)) == data
    with pytest.raises(ValueError, match="partial chunk"):
        ovba.compress(data[:4000])  # cannot be raw (not 4096 bytes), too big compressed


def test_decompressor_rejects_garbage() -> None:
    good = ovba.compress(b'Attribute VB_Name = "x"\r\n' * 50)
    for bad in (
        b"",
        b"\x02" + good[1:],
        good[:1] + b"\0\0" + good[3:],
        good[:-3] + b"\xff\xff\xff",
    ):
        with pytest.raises(ValueError):
            ovba.decompress(bad)


def test_cfb_writer_makes_valid_red_black_trees() -> None:
    rng = random.Random(3)
    streams = {
        f"S/{'n' * rng.randrange(1, 9)}{i}": rng.randbytes(rng.choice([1, 64, 5000]))
        for i in range(23)
    }
    streams["top"] = b"x"
    data = cfb.write(streams)
    ole = olefile.OleFileIO(data, raise_defects=olefile.DEFECT_INCORRECT)
    assert {"/".join(e): ole.openstream(e).read() for e in ole.listdir()} == streams
    assert cfb.read(data) == streams
    entries = {i: e for i, e in enumerate(ole.direntries) if e is not None}

    def key(sid: int) -> tuple[int, str]:
        return len(entries[sid].name), entries[sid].name.upper()

    def black_height(sid: int, lo: tuple[int, str] | None, hi: tuple[int, str] | None) -> int:
        if sid == cfb.NOSTREAM:
            return 1
        e = entries[sid]
        assert (lo is None or lo < key(sid)) and (hi is None or key(sid) < hi)  # CFB order
        if e.color == 0:  # red: both children black
            for child in (e.sid_left, e.sid_right):
                assert child == cfb.NOSTREAM or entries[child].color == 1
        left = black_height(e.sid_left, lo, key(sid))
        assert left == black_height(e.sid_right, key(sid), hi)
        return left + e.color

    for e in entries.values():
        if e.sid_child != cfb.NOSTREAM:
            assert entries[e.sid_child].color == 1  # the root of each tree is black
            black_height(e.sid_child, None, None)


# --- package hygiene -------------------------------------------------------------------------


def test_importing_kuden_xl_excel_stays_cheap() -> None:
    code = (
        "import sys; import kuden_xl; before = set(sys.modules); import kuden_xl.excel; "
        "print(sorted(set(sys.modules) - before))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "['kuden_xl.excel']"
