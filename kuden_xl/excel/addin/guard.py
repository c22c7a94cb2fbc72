"""VBA that runs before every ``RunPython`` of the ribbon: is there a workbook, a Python and the
xlwings DLL? Without it, staff meet VBA run-time errors (91 with no workbook open, 53 when the
DLL is missing) and a Debug button into the VBA editor.

The checks mirror xlwings' own lookup (``xlwings.bas``: ``GetConfig``, ``XLPyLoadDLL``):

* ``Interpreter_Win`` (or the legacy ``Interpreter``) from the conf sheets and files; empty means
  ``pythonw`` from ``PATH``;
* a full path must exist, and ``xlwings64-<version>.dll`` (32 on 32-bit Office) must sit in its
  folder or the folder above (a virtualenv), the two places ``XLPyLoadDLL`` tries;
* a bare name is looked for on ``PATH``, and so is the DLL: the ``Declare`` then resolves it by
  Windows' DLL search, which a per-user ``pip install`` never reaches;
* with ``Conda Path`` + ``Conda Env`` set, xlwings builds the path itself: no check here.

A problem shows a Japanese ``MsgBox`` saying what to install where. The VBA project's code page
cannot hold Japanese, so every message is built from ``ChrW`` codes (``vba_text``); only ASCII
reaches the module source.
"""

from __future__ import annotations

import re

GUARD_FUNCTION = "KudenReady"
TITLE = "SMS送信"

NO_WORKBOOK = (
    "開いているブックがありません。送信リストのブックを開き、送る行を選んでから、"
    "もう一度ボタンを押してください。"
)
NO_PYTHON = (
    "Python が見つかりません（{interpreter}）。{nl}{nl}"
    "このパソコンに Python と kuden_xl をインストールしてください"
    "（担当者向け: python.org の Python で pip install kuden_xl[excel]）。"
    "PATH に入っていない Python を使う場合は、"
    "kuden-xl addin build --interpreter <pythonw.exe のフルパス> でアドインを作り直してください。"
)
NO_DLL = (
    "Python は見つかりましたが（{interpreter}）、Excel と Python をつなぐファイル {dll} が"
    "ありません（探した場所: {where}）。{nl}{nl}"
    "その Python で pip install xlwings=={version} を --user を付けずに実行してください"
    "（pip install --user ではこのファイルが Excel の探さない場所に入ります）。"
    "別の Python を使う場合は kuden-xl addin build --interpreter <pythonw.exe のフルパス> で"
    "アドインを作り直してください。"
)
# Placeholders → VBA expressions available inside KudenReady.
_VARIABLES = {
    "interpreter": "interpreter",
    "dll": "dll",
    "where": "where",
    "version": "XLWINGS_VERSION",
    "nl": "vbCrLf",
}
_PLACEHOLDER = re.compile(r"\{(\w+)\}")
_CODES_PER_LINE = 12


def vba_text(variable: str, text: str, *, placeholders: bool = True) -> list[str]:
    """VBA statements that build ``text`` in ``variable``: ASCII stays a literal, anything else
    becomes ``ChrW(<code>)``; ``{name}`` placeholders (unless ``placeholders`` is False) become
    the VBA expressions of ``_VARIABLES``. Short lines: VBA limits a line to 1,023 characters."""
    parts: list[str] = []
    pieces = _PLACEHOLDER.split(text) if placeholders else [text]
    for i, piece in enumerate(pieces):
        if i % 2:
            parts.append(_VARIABLES[piece])
            continue
        literal = ""
        for ch in piece:
            if " " <= ch <= "~":
                literal += ch
                continue
            if literal:
                parts.append('"' + literal.replace('"', '""') + '"')
                literal = ""
            if ord(ch) > 0xFFFF:
                raise ValueError(f"{ch!r} is outside the BMP; ChrW cannot build it")
            parts.append(f"ChrW({ord(ch)})")
        if literal:
            parts.append('"' + literal.replace('"', '""') + '"')
    lines = [f'{variable} = ""']
    for start in range(0, len(parts), _CODES_PER_LINE):
        lines.append(
            f"{variable} = {variable} & " + " & ".join(parts[start : start + _CODES_PER_LINE])
        )
    return lines


def _indent(lines: list[str], depth: int) -> list[str]:
    return ["    " * depth + line for line in lines]


def render_guard() -> list[str]:
    """The guard's VBA: ``KudenReady()`` and its helpers (lines, no line ends)."""
    return [*_ready_function(), "", *_title_function(), "", *_FILE_HELPERS]


def _ready_function() -> list[str]:
    """``KudenReady()``: True when RunPython may go ahead, else a MsgBox and False."""
    return [
        "' Checked before every RunPython: a workbook is open, Python and the xlwings DLL exist.",
        "' A problem is a Japanese MsgBox (built with ChrW), never a VBA error dialog.",
        f"Private Function {GUARD_FUNCTION}() As Boolean",
        "    Dim interpreter As String, found As String, dll As String, where As String",
        "    Dim m As String",
        "    If ActiveWorkbook Is Nothing Then",
        *_indent(vba_text("m", NO_WORKBOOK), 2),
        "        MsgBox m, vbExclamation, KudenTitle()",
        "        Exit Function",
        "    End If",
        "#If Mac Then",
        f"    {GUARD_FUNCTION} = True",
        "    Exit Function",
        "#End If",
        "    On Error GoTo unsure",
        '    If GetConfig("CONDA PATH") <> "" And GetConfig("CONDA ENV") <> "" Then',
        f"        {GUARD_FUNCTION} = True  ' xlwings builds the Conda path itself",
        "        Exit Function",
        "    End If",
        '    interpreter = GetConfig("INTERPRETER_WIN", "")',
        '    If interpreter = "" Then interpreter = GetConfig("INTERPRETER", "pythonw")',
        "    dll = KudenDllName()",
        *_LOOKUP,
        f"    If {GUARD_FUNCTION} Then Exit Function",
        '    If found = "" Then',
        *_indent(vba_text("m", NO_PYTHON), 2),
        "    Else",
        *_indent(vba_text("m", NO_DLL), 2),
        "    End If",
        "    MsgBox m, vbCritical, KudenTitle()",
        "    Exit Function",
        "unsure:",
        f"    {GUARD_FUNCTION} = True  ' the check itself failed: let xlwings try and report",
        "End Function",
    ]


# KudenReady's search for pythonw and the DLL, as XLPyLoadDLL looks: sets found (the
# interpreter, "" when missing), where (for the message) and KudenReady (True when both exist).
_LOOKUP = (
    '    If InStr(interpreter, "\\") = 0 Then',
    "        ' A bare name: Windows finds pythonw and, through the Declare, the DLL on PATH.",
    "        found = interpreter",
    '        If LCase$(Right$(found, 4)) <> ".exe" Then found = found & ".exe"',
    "        found = KudenOnPath(found)",
    '        where = "PATH"',
    '        If found <> "" Then',
    f'            If KudenOnPath(dll) <> "" Then {GUARD_FUNCTION} = True',
    "        End If",
    "    Else",
    "        found = interpreter",
    '        If Not KudenFileExists(found) Then found = ""',
    '        where = KudenParent(interpreter) & ", " & KudenParent(KudenParent(interpreter))',
    '        If found <> "" Then',
    '            If KudenFileExists(KudenParent(found) & "\\" & dll) Then',
    f"                {GUARD_FUNCTION} = True",
    '            ElseIf KudenFileExists(KudenParent(KudenParent(found)) & "\\" & dll) Then',
    f"                {GUARD_FUNCTION} = True",
    "            End If",
    "        End If",
    "    End If",
)


def _title_function() -> list[str]:
    return [
        "Private Function KudenTitle() As String",
        "    Dim m As String",
        *_indent(vba_text("m", TITLE), 1),
        "    KudenTitle = m",
        "End Function",
    ]


# The helpers hold no Japanese, so they are plain text: the DLL's name, a PATH search, a file
# test and a path's parent folder.
_FILE_HELPERS = (
    "Private Function KudenDllName() As String",
    "#If Win64 Then",
    '    KudenDllName = "xlwings64-" & XLWINGS_VERSION & ".dll"',
    "#Else",
    '    KudenDllName = "xlwings32-" & XLWINGS_VERSION & ".dll"',
    "#End If",
    "End Function",
    "",
    "Private Function KudenOnPath(ByVal fileName As String) As String",
    "    Dim folders() As String, folder As String, i As Long",
    '    folders = Split(Environ$("PATH"), ";")',
    "    For i = LBound(folders) To UBound(folders)",
    '        folder = Trim$(Replace(folders(i), """", ""))',
    "        If Len(folder) > 0 Then",
    '            If Right$(folder, 1) <> "\\" Then folder = folder & "\\"',
    "            If KudenFileExists(folder & fileName) Then",
    "                KudenOnPath = folder & fileName",
    "                Exit Function",
    "            End If",
    "        End If",
    "    Next i",
    "End Function",
    "",
    "Private Function KudenFileExists(ByVal path As String) As Boolean",
    "    On Error GoTo missing",
    "    KudenFileExists = (GetAttr(path) And vbDirectory) = 0",
    "    Exit Function",
    "missing:",
    "    KudenFileExists = False",
    "End Function",
    "",
    "Private Function KudenParent(ByVal path As String) As String",
    "    Dim i As Long",
    '    i = InStrRev(path, "\\")',
    "    If i > 0 Then KudenParent = Left$(path, i - 1)",
    "End Function",
)
