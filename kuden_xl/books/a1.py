"""A1 notation's columns: letters (``A`` … ``XFD``) and their numbers (1 … 16,384)."""

from __future__ import annotations

import functools


@functools.lru_cache(maxsize=1024)
def column_letter(column: int) -> str:
    """The letters of column ``column`` (1-based): 1 → ``A``, 28 → ``AB``, 16,384 → ``XFD``."""
    letters = ""
    while column:
        column, rest = divmod(column - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def column_number(letters: str) -> int:
    """The number of the column ``letters`` names, in either case: ``ab`` → 28."""
    n = 0
    for ch in letters.upper():
        n = n * 26 + ord(ch) - 64
    return n
