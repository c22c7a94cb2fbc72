"""The write-back's refusal, ``UnsupportedWorkbook``, and the check each XML part it edits passes.

Every refusal is raised before anything is written (the caller discards a partial output).
"""

from __future__ import annotations

import re


class UnsupportedWorkbook(Exception):
    """The workbook uses a part of the format the write-back does not handle; nothing was written.

    ``str(exc)`` is a Japanese reason fit to follow the workbook's name in a message.
    """


def check_utf8_xml(data: bytes, what: str) -> None:
    """Refuse a part (``what``, named in the reason) in another encoding than UTF-8 or with a DTD:
    the byte-level scanning would misread it.
    """
    head = data[:200]
    m = re.match(rb"(?:\xef\xbb\xbf)?<\?xml[^>]*?encoding=[\"']([^\"']+)", head)
    if m and m.group(1).lower().replace(b"-", b"") != b"utf8":
        raise UnsupportedWorkbook(f"{what}の文字コード（{m.group(1).decode()}）には書き込めません")
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise UnsupportedWorkbook(f"{what}の文字コード（UTF-16）には書き込めません")
    if b"<!DOCTYPE" in data or b"<!ENTITY" in data:
        raise UnsupportedWorkbook(f"{what}に DTD があり、書き込めません")
