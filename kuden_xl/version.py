"""kuden_xl's version as installed: pyproject.toml is its one source, read from the package metadata."""

from __future__ import annotations

import functools


@functools.cache
def installed_version() -> str:
    """The installed package's version, read on first use (importlib.metadata is not cheap to
    import: ``import kuden_xl`` must stay light for Excel)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("kuden_xl")
    except PackageNotFoundError:
        # Imported from a source tree that was never installed (no .dist-info to read): say
        # "unknown" rather than guess a release number this code may not be.
        return "0+unknown"
