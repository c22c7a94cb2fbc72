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
import sys
import types
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

MODULE_NAME = "xlwings_udfs"
_PYWIN32 = ("pythoncom", "pywintypes", "win32com", "win32com.client")
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
    attrs: dict[str, Any] = {
        "pythoncom": {"CoInitialize": lambda: None},
        "pywintypes": {"com_error": Exception},
        "win32com.client": {"Dispatch": lambda *a, **k: None},
    }.get(name, {})
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
        for attr, value in saved_attrs.items():
            if value is _MISSING:
                if hasattr(xlwings, attr):
                    delattr(xlwings, attr)
            else:
                setattr(xlwings, attr, value)
        # Anything of xlwings first imported in the scope may hold the stubs: drop it.
        for name in [k for k in sys.modules if k.startswith("xlwings.")]:
            if name not in xlwings_before:
                sys.modules.pop(name, None)
        for name, module in touched.items():
            _set_module(name, module)


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
                _check_converters(name, meta)
                if meta["name"] in functions:
                    raise UdfImportError(f"UDF {meta['name']} is defined twice")
                functions[meta["name"]] = meta
            udfs.generate_vba_wrapper(name, module, buf, workbook)
    # VBA source lines end in CRLF; xlwings' writer emits LF (Excel's import converts them).
    source = buf.getvalue().replace("\r\n", "\n").replace("\n", "\r\n")
    return UdfWrappers(source, functions)
