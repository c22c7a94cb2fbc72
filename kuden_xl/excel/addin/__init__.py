"""Builder of the ``kuden_xl.xlam`` Excel add-in, on any OS and without Excel.

It patches the custom-add-in template shipped with the installed xlwings
(``quickstart_addin_ribbon.xlam``): a ribbon tab "SMS送信" whose buttons call
``kuden_xl.excel.ribbon`` through ``RunPython``, the ``xlwings_udfs`` wrapper module generated
from the UDF modules, ``PROJECT_NAME = "kuden_xl"`` and the ``kuden_xl.conf`` sheet.

Modules, each with one role:

* ``ovba``         MS-OVBA 2.4.1 compression and decompression of VBA streams
* ``cfb``          minimal MS-CFB (OLE compound file) reader and v3 writer
* ``vbaproject``   the VBA project inside ``vbaProject.bin``: ``dir``, ``PROJECT``, modules
* ``buttons``      the ribbon declared once as data; renders customUI.xml and RibbonKuden
* ``udf_wrappers`` the ``xlwings_udfs`` VBA module, via xlwings' own generator
* ``workbook``     the OOXML parts: conf sheet, shared strings, sheet name
* ``build``        ``build_addin()``, the orchestration

Nothing is imported here, so ``import kuden_xl.excel.addin.build`` loads only what it needs.
"""
