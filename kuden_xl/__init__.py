"""kuden_xl: send SMS to the rows of an Excel worksheet; the workbook is the record."""

from __future__ import annotations

__version__ = "0.1.0"
