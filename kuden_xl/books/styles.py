"""The styles part: the cell format (xf) a date or time written back needs, added at most once."""

from __future__ import annotations

import re
from xml.sax.saxutils import escape, unescape

from .unsupported import UnsupportedWorkbook, check_utf8_xml
from .xmlbytes import ATTRS, attr_list, attr_value, prefix


def ensure_format(styles: bytes, code: str) -> tuple[bytes, int]:
    """The index of a plain cell format (xf) showing numbers as ``code``, added when missing.

    An existing xf is reused when it has this number format and the default font, fill, border
    and alignment; so a workbook gains at most one xf per format however often it is saved.
    Returns ``styles`` itself when nothing was added.
    """
    check_utf8_xml(styles, "styles.xml ")
    p = prefix(styles, b"styleSheet")
    fmt_id: int | None = None
    ids: list[int] = []
    for m in re.finditer(rb"<" + p + rb"numFmt\b" + ATTRS + rb"/?>", styles):
        raw_id = attr_value(m.group(1), b"numFmtId")
        raw_code = attr_value(m.group(1), b"formatCode")
        if raw_id is None or raw_code is None:
            continue
        ids.append(int(raw_id))
        text = unescape(raw_code.decode("utf-8"), {"&quot;": '"', "&apos;": "'"})
        if text == code and fmt_id is None:
            fmt_id = int(raw_id)
    if fmt_id is None:
        fmt_id = max([163, *ids]) + 1
        new = b'<%snumFmt numFmtId="%d" formatCode="%s"/>' % (
            p,
            fmt_id,
            escape(code, {'"': "&quot;"}).encode(),
        )
        styles = _append_child(styles, p, b"numFmts", new, after_root=b"styleSheet")

    xfs = re.search(
        rb"<" + p + rb"cellXfs\b" + ATTRS + rb">(.*?)</" + p + rb"cellXfs>", styles, re.S
    )
    if not xfs:
        raise UnsupportedWorkbook("styles.xml にセルの書式（cellXfs）がありません")
    index = 0
    for m in re.finditer(
        rb"<" + p + rb"xf\b" + ATTRS + rb"(?:/>|>(.*?)</" + p + rb"xf>)", xfs.group(2), re.S
    ):
        attrs = {k: v[1:-1] for k, v in attr_list(m.group(1))}
        plain = all(attrs.get(k, b"0") == b"0" for k in (b"fontId", b"fillId", b"borderId"))
        if (
            plain
            and attrs.get(b"numFmtId") == str(fmt_id).encode()
            and not (m.group(2) or b"").strip()
        ):
            return styles, index
        index += 1
    new = (
        b'<%sxf numFmtId="%d" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
        % (p, fmt_id)
    )
    return _append_child(styles, p, b"cellXfs", new), index


def _append_child(
    data: bytes, p: bytes, parent: bytes, child: bytes, *, after_root: bytes | None = None
) -> bytes:
    """``data`` with ``child`` appended to the element ``parent`` and its ``count`` raised."""
    m = re.search(rb"<" + p + parent + rb"\b" + ATTRS + rb"(/?)>", data)
    if m is None:
        if after_root is None:
            raise UnsupportedWorkbook(f"<{parent.decode()}> がありません")
        root = re.search(rb"<" + p + after_root + rb"\b" + ATTRS + rb">", data)
        if root is None:
            raise UnsupportedWorkbook(f"<{after_root.decode()}> がありません")
        block = b'<%s%s count="1">%s</%s%s>' % (p, parent, child, p, parent)
        return data[: root.end()] + block + data[root.end() :]
    attrs = m.group(1)
    count = attr_value(attrs, b"count")
    if count is not None:
        attrs = re.sub(rb"\bcount\s*=\s*([\"'])[0-9]*\1", b'count="%d"' % (int(count) + 1), attrs)
    if m.group(2):  # <parent/>
        return (
            data[: m.start()]
            + b"<" + p + parent + attrs + b">" + child + b"</" + p + parent + b">"
            + data[m.end() :]
        )  # fmt: skip
    close = data.index(b"</" + p + parent + b">", m.end())
    return (
        data[: m.start()]
        + b"<"
        + p
        + parent
        + attrs
        + b">"
        + data[m.end() : close]
        + child
        + data[close:]
    )
