"""Generate the ``xlwings_udfs`` VBA module from UDF modules, without Excel.

In Excel, xlwings' "Import Functions" (``ImportPythonUDFsToAddin``) imports the UDF modules
with the real ``@xw.func``/``@xw.arg`` decorators, which attach ``__xlfunc__`` metadata, and
``xlwings.udfs.generate_vba_wrapper`` writes one VBA wrapper per function. Off Windows the
decorators are no-ops and ``xlwings.udfs`` cannot be imported (it imports pywin32 at module
level). So, for the duration of one call only, this module:

1. puts empty stand-ins for the pywin32 modules into ``sys.modules`` (only those missing);
2. imports ``xlwings.udfs`` and points ``xlwings.func``/``arg``/``ret``/``sub``/``script`` at
   its real decorators;
3. imports each UDF module afresh, so the decorators run and record their metadata;
4. calls xlwings' own generator, so the wrappers match what Excel's import would produce;

and then restores ``sys.modules``, the ``xlwings`` attributes and any UDF module imported before,
so that the rest of the process (a test session, the CLI) sees the ordinary xlwings.
"""

from __future__ import annotations

import importlib
import io
import re
import sys
import types
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

MODULE_NAME = "xlwings_udfs"
_PYWIN32 = ("pythoncom", "pywintypes", "win32com", "win32com.client")
_VBA_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,254}")
_DECORATORS = {"func": "xlfunc", "arg": "xlarg", "ret": "xlret", "sub": "xlsub", "script": "xlsub"}


class UdfImportError(ImportError):
    """A UDF module cannot be imported or defines no UDF."""


@dataclass(frozen=True)
class UdfWrappers:
    """The generated VBA module and, per function name, xlwings' ``__xlfunc__`` metadata."""

    source: str
    functions: Mapping[str, Mapping[str, Any]]


_MISSING = object()


def _set_module(name: str, module: object) -> None:
    """Put ``module`` (or _MISSING: nothing) at ``name`` in sys.modules and on its parent."""
    if module is _MISSING:
        sys.modules.pop(name, None)
    else:
        sys.modules[name] = module  # type: ignore[assignment]
    parent_name, _, child = name.rpartition(".")
    parent = sys.modules.get(parent_name) if parent_name else None
    if parent is None:
        return
    if module is _MISSING:
        if hasattr(parent, child):
            delattr(parent, child)
    else:
        setattr(parent, child, module)


def _stub(name: str) -> types.ModuleType:
    """An empty stand-in with the few names ``xlwings.udfs`` touches at import time."""
    module = types.ModuleType(name)
    # The executor's initializer (never run here), the import_udfs error type, the COM factory.
    stand_ins: dict[str, dict[str, Any]] = {
        "pythoncom": {"CoInitialize": lambda: None},
        "pywintypes": {"com_error": Exception},
        "win32com.client": {"Dispatch": lambda *a, **k: None},
    }
    attrs = stand_ins.get(name, {})
    for attr, value in attrs.items():
        setattr(module, attr, value)
    return module


@contextmanager
def _real_decorators(fresh: Sequence[str]) -> Iterator[types.ModuleType]:
    """Yield ``xlwings.udfs`` with pywin32 stubbed; undo every change on exit.

    ``fresh`` names modules to re-import inside the scope (the UDF modules): whatever
    ``sys.modules`` held for them before is put back afterwards.
    """
    import xlwings

    touched = {name: sys.modules.get(name, _MISSING) for name in (*_PYWIN32, *fresh)}
    xlwings_before = {k for k in sys.modules if k == "xlwings" or k.startswith("xlwings.")}
    saved_attrs = {attr: getattr(xlwings, attr, _MISSING) for attr in (*_DECORATORS, "udfs")}
    try:
        for name in _PYWIN32:
            if name in sys.modules:
                continue
            try:  # a real pywin32 (on Windows) wins over a stand-in
                importlib.import_module(name)
            except ImportError:
                _set_module(name, _stub(name))
        udfs = importlib.import_module("xlwings.udfs")
        for public, real in _DECORATORS.items():
            setattr(xlwings, public, getattr(udfs, real))
        for name in fresh:
            _set_module(name, _MISSING)
        yield udfs
    finally:
        # Anything of xlwings first imported in the scope may hold the stubs: drop it.
        for name in [k for k in sys.modules if k.startswith("xlwings.")]:
            if name not in xlwings_before:
                _set_module(name, _MISSING)
        for attr, value in saved_attrs.items():
            if value is _MISSING:
                if hasattr(xlwings, attr):
                    delattr(xlwings, attr)
            else:
                setattr(xlwings, attr, value)
        for name, module in touched.items():
            _set_module(name, module)


# Words a VBA parameter or function name cannot be (MS-VBAL 3.3.5.2, reserved identifiers),
# lower-cased: VBA ignores case. A clash breaks compilation of the whole module, in Excel only.
_VBA_RESERVED = frozenset(
    """abs addressof and any array as attribute boolean byref byte byval call case cbool cbyte
    ccur cdate cdbl cdec cint circle clng clnglng clngptr close const csng cstr currency cvar
    cverr date debug declare defbool defbyte defcur defdate defdbl defint deflng deflnglng
    deflngptr defobj defsng defstr defvar dim do double doevents each else elseif empty end endif
    enum eqv erase error event exit false fix for friend function get global gosub goto if imp
    implements in input inputb int integer is lbound len lenb let like lock long longlong longptr
    loop lset me mod new next not nothing null on open option optional or paramarray preserve
    print private pset public put raiseevent redim rem resume return rset scale seek select set
    sgn shared single spc static stop string sub tab then to true type typeof ubound unlock until
    variant wend while with withevents write xor""".split()
)
# Names xlwings' wrapper itself uses inside each function.
_WRAPPER_LOCALS = frozenset({"k", "argsarray", "failed"})
_CELL_REF = re.compile(r"([A-Za-z]{1,3})([0-9]+)|[Rr][0-9]*[Cc][0-9]*")


def _looks_like_a_cell(name: str) -> bool:
    """``ABC1`` or ``R1C1``: Excel reads such a formula name as a reference, not a function."""
    m = _CELL_REF.fullmatch(name)
    if m is None or m[1] is None:
        return m is not None
    column = 0
    for ch in m[1].upper():
        column = column * 26 + ord(ch) - 64
    return column <= 16384 and 0 < int(m[2]) <= 1048576


def _check_vba_names(module: str, meta: Mapping[str, Any]) -> None:
    """Function and argument names must be usable in VBA and in an Excel formula."""
    name = meta["name"]
    problems = []
    if not _VBA_NAME.fullmatch(name):
        problems.append(f"{name!r} is not an ASCII VBA name (letters, digits, _)")
    elif name.lower() in _VBA_RESERVED or _looks_like_a_cell(name):
        problems.append(f"{name!r} is a VBA keyword or an Excel cell reference")
    for arg in meta["args"]:
        arg_name = arg["name"]
        if arg.get("vba"):  # passed as a VBA expression (e.g. caller), not a parameter
            continue
        if not _VBA_NAME.fullmatch(arg_name):
            problems.append(f"argument {arg_name!r} is not an ASCII VBA name")
        elif arg_name.lower() in _VBA_RESERVED | _WRAPPER_LOCALS | {name.lower()}:
            problems.append(f"argument {arg_name!r} clashes with a VBA keyword or name")
    if problems:
        raise UdfImportError(f"{module}.{name}: " + "; ".join(problems))


def _check_converters(module: str, meta: Mapping[str, Any]) -> None:
    """Fail at build time on a type hint xlwings cannot convert (it would fail in every cell).

    xlwings turns argument and return annotations into ``convert`` options; a type it has no
    converter for (``object``, a custom class) raises on each call inside Excel.
    """
    from xlwings.conversion import accessors

    options = [("return value", meta["ret"]["options"])]
    options += [(f"argument {a['name']}", a["options"]) for a in meta["args"]]
    for what, opts in options:
        convert = opts.get("convert")
        if convert is None or convert in accessors or hasattr(convert, "reader"):
            continue
        raise UdfImportError(
            f"{module}.{meta['name']}: xlwings has no converter for the {what}'s type "
            f"{convert!r}; annotate it with typing.Any or a type xlwings converts"
        )


def generate(module_names: Sequence[str], addin_name: str = "kuden_xl.xlam") -> UdfWrappers:
    """Source of the ``xlwings_udfs`` VBA module for ``module_names`` (dotted import names).

    The names are baked into every wrapper (``XLPy.CallUDF("<module>", ...)``), so they must be
    exactly what the add-in's ``UDF Modules`` setting says.
    """
    buf = io.StringIO()
    functions: dict[str, Mapping[str, Any]] = {}
    converted: list[tuple[str, str]] = []  # (module, function) whose "#N/A" becomes an error
    with _real_decorators(module_names) as udfs:
        vba = udfs.VBAWriter(buf)
        vba.writeln(f'Attribute VB_Name = "{MODULE_NAME}"')
        vba.writeln("'Autogenerated code by xlwings - changes will be lost with next import!")
        vba.writeln("""#Const App = "Microsoft Excel" 'Adjust when using outside of Excel""")
        # An .xlam name makes xlwings pass ActiveWorkbook (the user's book) to CallUDF.
        workbook = types.SimpleNamespace(Name=addin_name)
        for name in module_names:
            try:
                module = importlib.import_module(name)
            except Exception as exc:
                raise UdfImportError(f"cannot import UDF module {name}: {exc}") from exc
            found = [
                obj.__xlfunc__
                for attr in dir(module)
                if hasattr(obj := getattr(module, attr), "__xlfunc__")
            ]
            if not found:
                raise UdfImportError(f"UDF module {name} defines no @xw.func function")
            for meta in found:
                _check_vba_names(name, meta)
                _check_converters(name, meta)
                if meta["name"] in functions:
                    raise UdfImportError(f"UDF {meta['name']} is defined twice")
                functions[meta["name"]] = meta
            udfs.generate_vba_wrapper(name, module, buf, workbook)
            converted += [(name, f) for f in sorted(getattr(module, "ERROR_RESULTS", ()))]
    source = buf.getvalue()
    for module_name, function in converted:
        source = _convert_errors(source, module_name, function)
    if converted:
        source += ERROR_CONVERSION
    # VBA source lines end in CRLF; xlwings' writer emits LF (Excel's import converts them).
    source = source.replace("\r\n", "\n").replace("\n", "\r\n")
    return UdfWrappers(source, functions)


def _convert_errors(source: str, module_name: str, function: str) -> str:
    """Wrap the Excel branch's call of ``function`` in ``KudenErrors(...)``."""
    call = re.compile(
        rf'^(\s*{function} = )(XLPy\.CallUDF\("{re.escape(module_name)}", "{function}", '
        r".*, ActiveWorkbook, Application\.Caller\))$",
        re.M,
    )
    source, n = call.subn(r"\1KudenErrors(\2)", source)
    if n != 1:
        raise UdfImportError(f"{module_name}.{function}: no wrapper to convert errors in")
    return source


# pywin32 cannot return a real Excel error from the COM server (xlwings #776): functions listed
# in their module's ERROR_RESULTS return the text "#N/A", turned into CVErr(xlErrNA) here.
ERROR_CONVERSION = """
' "#N/A" texts from Python become real #N/A errors (pywin32 cannot return them; xlwings #776).
Private Function KudenErrors(ByVal result As Variant) As Variant
    Dim i As Long, j As Long
    If IsArray(result) Then
        Select Case KudenDims(result)
        Case 1
            For i = LBound(result) To UBound(result)
                If KudenIsNA(result(i)) Then result(i) = CVErr(xlErrNA)
            Next i
        Case 2
            For i = LBound(result, 1) To UBound(result, 1)
                For j = LBound(result, 2) To UBound(result, 2)
                    If KudenIsNA(result(i, j)) Then result(i, j) = CVErr(xlErrNA)
                Next j
            Next i
        End Select
    ElseIf KudenIsNA(result) Then
        result = CVErr(xlErrNA)
    End If
    KudenErrors = result
End Function

Private Function KudenIsNA(ByRef v As Variant) As Boolean
    If VarType(v) = vbString Then KudenIsNA = (v = "#N/A")
End Function

Private Function KudenDims(ByRef a As Variant) As Long
    Dim n As Long, bound As Long
    On Error GoTo done
    Do
        bound = UBound(a, n + 1)
        n = n + 1
    Loop
done:
    KudenDims = n
End Function
"""
