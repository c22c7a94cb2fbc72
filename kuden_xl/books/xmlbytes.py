"""Start tags read as bytes, without an XML parser: attributes (quotes respected), a part's prefix.

The write-back scans parts with these instead of building a tree, so it can splice them in place.
"""

from __future__ import annotations

import functools
import re

from .unsupported import UnsupportedWorkbook

ATTRS = rb"((?:[^>\"']|\"[^\"]*\"|'[^']*')*?)"  # a start tag's attributes, quotes respected
_ATTR = re.compile(rb"([\w:.-]+)\s*=\s*(\"[^\"]*\"|'[^']*')")


def attr_list(raw: bytes) -> list[tuple[bytes, bytes]]:
    """A start tag's attributes as (name, raw quoted value), in document order."""
    return [(m.group(1), m.group(2)) for m in _ATTR.finditer(raw)]


@functools.lru_cache(maxsize=64)
def _attr_pattern(name: bytes) -> re.Pattern[bytes]:
    return re.compile(rb"(?:^|\s)" + re.escape(name) + rb"\s*=\s*(?:\"([^\"]*)\"|'([^']*)')")


def attr_value(raw: bytes, name: bytes) -> bytes | None:
    """The raw (still escaped) value of attribute ``name`` in a start tag's attributes."""
    m = _attr_pattern(name).search(raw)
    if m is None:
        return None
    return m.group(1) if m.group(1) is not None else m.group(2)


def prefix(data: bytes, root: bytes) -> bytes:
    """The main namespace's prefix on the part's root element ``root``: ``b""`` or ``b"x:"``."""
    m = re.search(rb"<(?:([A-Za-z_][\w.-]*):)?" + root + rb"[\s>/]", data)
    if not m:
        raise UnsupportedWorkbook(f"<{root.decode()}> がありません")
    return m.group(1) + b":" if m.group(1) else b""
