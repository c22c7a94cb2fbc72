"""The Excel face of kuden_xl: UDFs (``udfs``), ribbon entry points (``ribbon``) and the builder
of the ``kuden_xl.xlam`` add-in (``addin``).

This package's ``__init__`` imports nothing, so ``import kuden_xl.excel.ribbon`` (run by
xlwings' ``RunPython`` on every ribbon click) stays cheap; see DESIGN.md §7.
"""
