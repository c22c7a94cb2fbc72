"""The package surface: lazy public API, cheap import, console script."""

from __future__ import annotations

import importlib.metadata
import json
import subprocess
import sys

import pytest

import kuden_xl
from kuden_xl.version import installed_version


def test_all_is_sorted_and_every_name_resolves() -> None:
    assert kuden_xl.__all__ == sorted(kuden_xl.__all__)
    for name in kuden_xl.__all__:
        assert getattr(kuden_xl, name) is not None, name


def test_import_is_cheap_and_lazy() -> None:
    code = (
        "import sys, json, kuden_xl; "
        "print(json.dumps([m for m in ('requests', 'openpyxl', 'phonenumbers', 'xlwings') "
        "if m in sys.modules]))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert json.loads(out.stdout) == []


def test_version_is_the_installed_package_s_read_on_first_use(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    code = (
        "import sys, kuden_xl; before = 'importlib.metadata' in sys.modules; "
        "print(before, kuden_xl.__version__, '__version__' in dir(kuden_xl))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", importlib.metadata.version("kuden_xl"), "True"]
    assert kuden_xl.__version__ == importlib.metadata.version("kuden_xl")

    def missing(name: str) -> str:
        raise importlib.metadata.PackageNotFoundError(name)

    monkeypatch.setattr(importlib.metadata, "version", missing)
    installed_version.cache_clear()  # read once per process: forget the real one for this test
    try:
        assert installed_version() == "0+unknown"
    finally:
        installed_version.cache_clear()


def test_console_script_help_lists_commands() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "kuden_xl", "--help"],
        capture_output=True,
        text=True,
        encoding="utf-8",
        check=True,
    ).stdout
    assert "check" in out


def test_all_matches_the_export_table() -> None:
    assert set(kuden_xl.__all__) == set(kuden_xl._EXPORTS)


def test_every_command_has_help_and_is_in_the_readme() -> None:
    from pathlib import Path

    import click

    from kuden_xl.cli import cli

    readme = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")

    def walk(group: click.Group, prefix: str) -> list[tuple[str, click.Command]]:
        found = []
        for name, command in group.commands.items():
            found.append((f"{prefix} {name}", command))
            if isinstance(command, click.Group):
                found += walk(command, f"{prefix} {name}")
        return found

    for name, command in walk(cli, "kuden-xl"):
        assert command.help, name
        assert f"`{name}" in readme, f"{name} is missing from the README's CLI reference"


def test_readme_first_lines_are_the_two_commands() -> None:
    from pathlib import Path

    lines = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8").splitlines()
    assert lines[1].endswith("pip install . && kuden-xl demo")
    assert lines[2].endswith('pip install -e ".[test]" && pytest')


def test_the_listed_packages_are_the_tree_s_packages() -> None:
    """pyproject.toml lists the packages (workbook_templates/ is mapped): none may be left out."""
    import sys
    from pathlib import Path

    if sys.version_info >= (3, 11):
        import tomllib
    else:
        import tomli as tomllib

    root = Path(__file__).parent.parent
    listed = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))["tool"][
        "setuptools"
    ]["packages"]
    found = {
        ".".join(p.parent.relative_to(root).parts) for p in (root / "kuden_xl").rglob("__init__.py")
    }
    assert sorted(listed) == sorted(found | {"kuden_xl.workbook_templates"})
    assert (root / "workbook_templates" / "__init__.py").exists()


def test_errors_carry_fields_a_program_can_act_on() -> None:
    from kuden_xl import AddinBuildError, KudenError

    err = AddinBuildError("x", path="a.xlam")
    assert isinstance(err, KudenError) and str(err) == "x" and err.path == "a.xlam"
    assert (err.sheet, err.cell, err.row, err.provider, err.status) == (None,) * 5
