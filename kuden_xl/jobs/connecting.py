"""The connect job: a run's workbook lock, gateway and send ledger, and who may be connected."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING

from ..books.base import Table
from ..campaign import CampaignSettings
from ..errors import SettingsError
from .locking import holding
from .reading import load_settings

if TYPE_CHECKING:
    from ..gateways.base import Gateway
    from ..ledger import Ledger


def refuse_sample(settings: CampaignSettings, provider: str) -> None:
    """A practice workbook (設定 サンプル=はい) may only go through the sandbox.

    Raises:
        SettingsError: a sample workbook with a real provider.
    """
    if settings.sample and provider != "sandbox":
        raise SettingsError(
            "このブックは練習用（設定「サンプル」＝はい）です。練習用の送信先（sandbox）以外には送信できません。"
            " / A sample workbook may only be sent through the sandbox."
        )


@contextmanager
def connect(
    table: Table,
    *,
    provider: str | None = None,
    base_url: str | None = None,
    cli: Mapping[str, object] | None = None,
) -> Iterator[tuple[Gateway, Ledger]]:
    """The workbook lock, the gateway and the send ledger for a run on ``table``.

    One run per workbook at a time: the lock (``books.lock``, keyed on ``table.workbook``) is
    taken first and held until the run ends, so a CLI run, a ribbon click and a Python caller
    on the same file exclude each other; the jobs run inside it do not lock again.

    The provider comes by precedence (``provider`` > 設定 プロバイダ > environment > config file >
    sandbox); a practice workbook is refused before a real provider is even opened; sandbox
    sends use their own ledger file, so practice never blocks a real send. The real ledger is
    opened against the marker of what this PC last saw of it (``ledger.marker``); the
    sandbox's is not, since losing it can only resend practice to the simulator.

    Raises:
        WorkbookLockedError: another run holds the workbook.
        SettingsError: a practice workbook with a real provider, or an unknown provider.
        LedgerLostError: the real ledger is missing, empty, replaced or older than last seen.
        LedgerError: the ledger cannot be opened (damaged, locked, not a ledger).
    """
    from ..gateways.registry import SANDBOX, open_gateway, provider_name
    from ..ledger import Ledger, default_ledger_path

    with holding(table.workbook):
        settings = load_settings(table, cli)
        name = provider_name(provider, settings.provider)
        refuse_sample(settings, name)
        with open_gateway(name, base_url=base_url) as gateway:
            practice = gateway.name == SANDBOX
            # The real ledger is guarded against loss (marker); the sandbox's only practice.
            with Ledger.open(default_ledger_path(sandbox=practice), guard=not practice) as ledger:
                yield gateway, ledger
