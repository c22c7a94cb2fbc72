"""The one yes/no rule: which values mean yes or no, for the 設定 sheet and the worksheet functions.

Words match after NFKC, surrounding spaces removed and case folded, so ``ＴＲＵＥ``, `` Yes `` and
``１`` count; the empty string is no. Excel hands TRUE/FALSE in as ``bool`` and numbers as
``float``: a bool is itself, the numbers 1 and 0 are yes and no.
"""

from __future__ import annotations

import unicodedata

YES_WORDS = ("はい", "許可", "yes", "true", "1", "on")
NO_WORDS = ("いいえ", "不可", "no", "false", "0", "off", "")


def yes_no(value: object) -> bool | None:
    """True for a yes, False for a no, None when ``value`` is neither (the caller says how)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)):
        return True if value == 1 else False if value == 0 else None
    if not isinstance(value, str):
        return None
    text = unicodedata.normalize("NFKC", value).strip().casefold()
    return True if text in YES_WORDS else False if text in NO_WORDS else None
