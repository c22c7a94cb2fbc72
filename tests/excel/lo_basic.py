"""Run VBA functions in LibreOffice Basic (VBA support on), as an independent interpreter.

Runs under the *system* Python, which has LibreOffice's ``uno`` module (the project's virtualenv
does not). Reads JSON from stdin: ``{"code": "<module source>", "functions": ["Name", ...]}``;
puts the source into a new hidden Calc document's Standard library, calls each function (no
arguments) and prints ``{"Name": <result>}`` as JSON. Results should be strings: UNO cannot carry
an error Variant back, so the Basic side describes what it got.

    /usr/bin/python3 tests/excel/lo_basic.py < request.json
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time

import uno  # type: ignore[import-not-found]
from com.sun.star.beans import PropertyValue  # type: ignore[import-not-found]


def _prop(name: str, value: object) -> PropertyValue:
    p = PropertyValue()
    p.Name, p.Value = name, value
    return p


def main() -> None:
    request = json.load(sys.stdin)
    home = tempfile.mkdtemp(prefix="lo-basic-")
    port = 20000 + os.getpid() % 20000
    office = subprocess.Popen(
        [
            "soffice", "--headless", "--norestore", "--nologo", "--nodefault",
            f"-env:UserInstallation=file://{home}",
            f"--accept=socket,host=127.0.0.1,port={port};urp;",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        local = uno.getComponentContext()
        resolver = local.ServiceManager.createInstanceWithContext(
            "com.sun.star.bridge.UnoUrlResolver", local
        )
        url = f"uno:socket,host=127.0.0.1,port={port};urp;StarOffice.ComponentContext"
        for attempt in range(240):
            try:
                ctx = resolver.resolve(url)
                break
            except Exception:
                if attempt == 239:
                    raise
                time.sleep(0.25)
        smgr = ctx.ServiceManager
        desktop = smgr.createInstanceWithContext("com.sun.star.frame.Desktop", ctx)
        doc = desktop.loadComponentFromURL(
            "private:factory/scalc", "_blank", 0,
            (_prop("Hidden", True), _prop("MacroExecutionMode", 4)),
        )  # fmt: skip
        libraries = doc.BasicLibraries
        if not libraries.hasByName("Standard"):
            libraries.createLibrary("Standard")
        libraries.getByName("Standard").insertByName("Module1", request["code"])
        libraries.loadLibrary("Standard")
        provider = doc.getScriptProvider()
        results = {}
        for name in request["functions"]:
            script = provider.getScript(
                f"vnd.sun.star.script:Standard.Module1.{name}?language=Basic&location=document"
            )
            results[name] = script.invoke((), (), ())[0]
        doc.close(True)
        print(json.dumps(results, ensure_ascii=False))
    finally:
        office.terminate()
        try:
            office.wait(20)
        except subprocess.TimeoutExpired:
            office.kill()


if __name__ == "__main__":
    main()
