"""What a workbook file really is, found before openpyxl parses it, and Excel's text escapes.

openpyxl meets a password-protected workbook, an old ``.xls``, a CSV renamed ``.xlsx`` or a zip
bomb with one unhelpful exception (``BadZipFile``) or by filling the memory. ``refuse_unreadable``
names each case in Japanese and says what to do:

* an OLE compound file (``D0 CF 11 E0 A1 B1 1A E1``) holding an ``EncryptedPackage`` stream is
  an xlsx saved with a password (Office encrypts the whole package into a compound file);
* any other compound file is the old binary format (``.xls``, BIFF8);
* text (UTF-8 or Shift_JIS, no NUL byte) is a CSV or text file with a workbook's name;
* a zip whose parts would expand past ``MAX_EXPANDED_BYTES`` is refused before it is expanded
  (the declared sizes bound what Python's zipfile will decompress).
"""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

from ..errors import WorkbookError

OLE_MAGIC = bytes.fromhex("D0CF11E0A1B11AE1")
MAX_EXPANDED_BYTES = 256 * 1024 * 1024  # a 100,000-row list expands to a few tens of MB
_ENCRYPTED_STREAM = "EncryptedPackage".encode("utf-16-le")  # directory entry names are UTF-16
_ESCAPE = re.compile(r"_x([0-9A-Fa-f]{4})_")


def unescape(value: object) -> object:
    """A cell string with Excel's ``_xHHHH_`` escapes decoded (``_x000D_`` → CR).

    Excel writes characters XML cannot carry (CR, other control characters) this way in shared
    strings; openpyxl hands them on as written. Other values pass unchanged.
    """
    if isinstance(value, str) and "_x" in value:
        return _ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), value)
    return value


def refuse_unreadable(path: Path) -> None:
    """Raise a clear message when ``path`` is no .xlsx/.xlsm that is safe to open.

    Raises:
        WorkbookError: password-protected, old .xls, CSV/text, not a workbook, or a zip that
            would expand past ``MAX_EXPANDED_BYTES``.
    """
    with open(path, "rb") as f:
        head = f.read(8192)
    name = path.name
    if head.startswith(OLE_MAGIC):
        if _ENCRYPTED_STREAM in path.read_bytes():
            raise WorkbookError(
                f"「{name}」はパスワード付きのブックのため開けません。Excel で開き、［ファイル］→"
                "［情報］→［ブックの保護］→［パスワードを使用して暗号化］でパスワードを消して"
                "保存してから、もう一度実行してください。"
                f" / {name} is password-protected; remove the password in Excel first."
            )
        raise WorkbookError(
            f"「{name}」は古い形式（.xls）のブックです。Excel で開き、［名前を付けて保存］で"
            "「Excel ブック（*.xlsx）」を選んで保存し、その .xlsx を指定してください。"
            f" / {name} is an old binary .xls workbook; save it as .xlsx."
        )
    if not zipfile.is_zipfile(path):
        if head and _is_text(head):
            raise WorkbookError(
                f"「{name}」は Excel ブックではなく、CSV（テキスト）ファイルです。Excel で開き、"
                "［名前を付けて保存］で「Excel ブック（*.xlsx）」を選んで保存し、その .xlsx を"
                f"指定してください。 / {name} is a CSV or text file, not a workbook."
            )
        raise WorkbookError(
            f"「{name}」は Excel ブック（.xlsx/.xlsm）ではないか、壊れています。Excel で開けるか"
            f"確認してください。 / {name} is not a readable .xlsx/.xlsm workbook."
        )
    try:
        with zipfile.ZipFile(path) as z:
            expanded = sum(info.file_size for info in z.infolist())
    except (OSError, zipfile.BadZipFile) as exc:
        raise WorkbookError(
            f"「{name}」は壊れていて開けません（{exc}）。 / {name} is a damaged zip: {exc}"
        ) from exc
    if expanded > MAX_EXPANDED_BYTES:
        mb, limit = expanded // 2**20, MAX_EXPANDED_BYTES // 2**20
        raise WorkbookError(
            f"「{name}」は展開すると {mb:,} MB になり、上限の {limit} MB を超えるため開きません。"
            "壊れたファイルか、送信リストとしては大きすぎるブックです。送信する行だけを新しい"
            f"ブックにコピーしてください。 / {name} would expand to {mb} MB (limit {limit} MB)."
        )


def _is_text(head: bytes) -> bool:
    if b"\x00" in head:
        return False
    for encoding in ("utf-8", "cp932"):
        try:
            head.decode(encoding)
        except UnicodeDecodeError as exc:
            if encoding == "utf-8" and exc.start >= len(head) - 3:
                return True  # a character cut at the end of the sample
            continue
        return True
    return False
