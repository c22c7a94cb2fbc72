"""The check job: every planning rule that needs no gateway, on the chosen rows; nothing sent."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from ..books.base import SheetRows, Table
from ..campaign import CampaignSettings
from ..plan import SendPlan, plan
from .reading import load_settings, read_data, selected_rows


@dataclass(frozen=True)
class CheckReport:
    """What ``check`` found: the plan for every row checked (nothing is sent)."""

    data: SheetRows
    settings: CampaignSettings
    plan: SendPlan

    @property
    def has_body(self) -> bool:
        return bool(self.settings.body and self.settings.body.strip())


def check(
    table: Table,
    *,
    rows: str | None = None,
    row_numbers: Sequence[int] | None = None,
    cli: Mapping[str, object] | None = None,
) -> CheckReport:
    """Run every planning rule that needs no gateway on the chosen rows (default: all)."""
    from ..gateways.registry import number_rule, provider_name

    settings = load_settings(table, cli)
    data = read_data(table, settings)
    chosen = selected_rows(data, rows, row_numbers)
    accepted = number_rule(provider_name(None, settings.provider))
    result = plan(
        data,
        chosen,
        settings,
        hidden=table.hidden_rows(chosen),
        require_body=False,
        accepted=accepted,
    )
    return CheckReport(data, settings, result)
