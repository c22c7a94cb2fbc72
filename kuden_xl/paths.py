"""Where kuden_xl keeps its files: the user's data directory (``KUDEN_XL_DATA_DIR`` overrides)."""

from __future__ import annotations

import os
from pathlib import Path


def data_dir() -> Path:
    override = os.environ.get("KUDEN_XL_DATA_DIR", "").strip()
    if override:
        return Path(override).expanduser()
    import platformdirs  # lazy: the ribbon and UDFs never need it

    return Path(platformdirs.user_data_path("kuden_xl", appauthor=False))
