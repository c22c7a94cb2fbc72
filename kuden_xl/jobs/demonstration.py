"""The demo job: the sample workbook sent through an in-process sandbox, then its delivery
results refreshed."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from ..errors import WorkbookError
from .locking import holding
from .sending import SendOutcome, send
from .status import StatusOutcome, refresh_status

DEMO_SAMPLE = "sample_reminders.xlsx"


def demo(
    path: Path,
    *,
    copied: Callable[[Path], None] = lambda path: None,
    sent: Callable[[SendOutcome], None] = lambda outcome: None,
) -> StatusOutcome:
    """The sample workbook copied to ``path``, sent through an in-process sandbox with a
    throwaway ledger and the send window lifted, then its delivery results refreshed.

    ``copied`` runs once the copy exists, ``sent`` once the send is written, before the refresh.
    The copy's lock is held from the copy to the end.

    Raises:
        WorkbookError: ``path`` exists already.
        WorkbookLockedError: another run holds ``path``.
    """
    import shutil
    import tempfile

    from ..books.xlsx import XlsxTable
    from ..gateways.registry import open_gateway
    from ..ledger import Ledger
    from ..paths import shipped_workbook

    if path.exists():
        raise WorkbookError(
            f"「{path}」は既にあります。別の名前を指定してください。 / {path} exists.", path=path
        )
    with holding(path):
        shutil.copyfile(shipped_workbook(DEMO_SAMPLE), path)
        copied(path)
        with tempfile.TemporaryDirectory(prefix="kuden-demo-") as tmp:
            with (
                open_gateway("sandbox", state_path=Path(tmp) / "sandbox.sqlite3") as gateway,
                Ledger.open(Path(tmp) / "ledger.sqlite3") as ledger,
            ):
                table = XlsxTable(path)
                outcome = send(
                    table,
                    gateway,
                    ledger,
                    rows=None,
                    confirm=lambda p: True,
                    cli={"送信時間帯": "00:00-24:00"},
                )
                sent(outcome)
                return refresh_status(XlsxTable(path), gateway, ledger)
