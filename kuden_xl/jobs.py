"""One function per user action over a Table. The CLI and the ribbon both call these.

Jobs hold the orchestration (read → plan → confirm → dispatch → write) once; faces pass
callbacks for confirmation and progress and turn ``KudenError`` into their own messages.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from .books.base import SheetRows, Table, parse_rows
from .config import CampaignSettings, campaign_settings
from .plan import SendPlan, plan


@dataclass(frozen=True)
class CheckReport:
    """What ``check`` found: the plan for every row checked (nothing is sent)."""

    data: SheetRows
    settings: CampaignSettings
    plan: SendPlan

    @property
    def has_body(self) -> bool:
        return bool(self.settings.body and self.settings.body.strip())


def selected_rows(data: SheetRows, spec: str | None) -> list[int]:
    """Sheet rows to process: a ``--rows`` spec, or every data row."""
    first = data.header.row + 1
    if spec is None:
        return sorted(data.rows)
    return parse_rows(spec, first=first, last=data.last_row)


def load_settings(table: Table, cli: Mapping[str, object] | None = None) -> CampaignSettings:
    return campaign_settings(table.settings(), cli)


def check(
    table: Table, *, rows: str | None = None, cli: Mapping[str, object] | None = None
) -> CheckReport:
    """Run every planning rule that needs no gateway on the chosen rows (default: all)."""
    data = table.read()
    settings = load_settings(table, cli)
    chosen = selected_rows(data, rows)
    result = plan(data, chosen, settings, hidden=table.hidden_rows(chosen), require_body=False)
    return CheckReport(data, settings, result)
