"""Where kuden_xl's files are: the user's data directory (``KUDEN_XL_DATA_DIR`` overrides) and
the ledger in it, the user's config file, the workbooks shipped with kuden_xl."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from .errors import DataDirError

LEDGER_ENV = "KUDEN_XL_LEDGER"


def data_dir() -> Path:
    """The folder (not created here: see ``ensure_dir``)."""
    override = os.environ.get("KUDEN_XL_DATA_DIR", "").strip()
    if override:
        return Path(override).expanduser()
    import platformdirs  # lazy: the ribbon and UDFs never need it

    return Path(platformdirs.user_data_path("kuden_xl", appauthor=False))


def default_ledger_path(sandbox: bool) -> Path:
    """The ledger file: ``KUDEN_XL_LEDGER`` if set, else in the user's data directory
    (``paths.data_dir``: platformdirs, or ``KUDEN_XL_DATA_DIR``).

    Sandbox sends use their own file (``ledger-sandbox.sqlite3``) so practice never blocks a real
    send. With the environment override, the sandbox file sits beside the named one.
    """
    override = os.environ.get(LEDGER_ENV, "").strip()
    if override:
        path = Path(override).expanduser()
        return path.with_name(f"{path.stem}-sandbox{path.suffix}") if sandbox else path
    return data_dir() / ("ledger-sandbox.sqlite3" if sandbox else "ledger.sqlite3")


def user_config_path() -> Path:
    """config.toml: ``KUDEN_XL_CONFIG`` if set, else in the user's config directory."""
    override = os.environ.get("KUDEN_XL_CONFIG")
    if override:
        return Path(override)
    import platformdirs

    return platformdirs.user_config_path("kuden_xl", appauthor=False) / "config.toml"


def ensure_dir(folder: Path, *, what: str = "kuden_xl のデータ") -> Path:
    """Create ``folder`` if needed and prove it writable (a file created and removed).

    Proving it here turns an ACL, a read-only share or a file in the way into one message that
    names the folder and what to do, instead of a traceback from whoever writes there first.

    Raises:
        DataDirError: the folder cannot be created or written.
    """
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(prefix=".kuden-probe-", dir=folder)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise DataDirError(
            f"{what}を保存するフォルダ「{folder}」に書き込めません（{reason}）。"
            "フォルダの場所と書き込み権限を確認するか、環境変数 KUDEN_XL_DATA_DIR で書き込める"
            f"フォルダを指定してください。 / Cannot write to the data folder {folder}: {reason}.",
            path=folder,
        ) from exc
    return folder


def shipped_workbook(name: str) -> Path:
    """A workbook shipped with kuden_xl (``reminder_template.xlsx``, ``sample_reminders.xlsx``).

    They live in ``workbook_templates/`` at the repository root, which the wheel ships as the
    package ``kuden_xl.workbook_templates``: found the same way from a checkout and an install.
    """
    from importlib.resources import files

    return Path(str(files("kuden_xl.workbook_templates").joinpath(name)))
