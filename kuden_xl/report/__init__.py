"""The yearly report: send workbooks and CSV records → one report workbook.

``collect`` reads the files into records, ``summarize`` aggregates a fiscal year, ``render``
writes the report workbook. ``jobs.report`` runs the three for the faces.
"""
