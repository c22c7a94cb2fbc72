"""kuden_xl: send SMS to the rows of an Excel worksheet; the workbook is the record.

The public API is resolved lazily, so ``import kuden_xl`` stays cheap (no requests, no
openpyxl): Excel's ribbon and UDFs import this package on every click and recalculation.

The jobs (``check``, ``connect``, ``prepare_send``, ``send``, ``refresh_status``) are the same
actions the CLI and the ribbon run; the errors a caller catches are exported beside them (the
README has a quickstart).

Example::

    from kuden_xl import check_phone, render
    check_phone("０９０－１２３４－５６７８").national   # '09012345678'
    render("{氏名}様", {"氏名": "山田"}).body           # '山田様'
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

# public name -> (module, attribute)
_EXPORTS: dict[str, tuple[str, str]] = {
    "AddinBuildError": ("errors", "AddinBuildError"),
    "BodyCheck": ("message", "BodyCheck"),
    "CampaignSettings": ("campaign", "CampaignSettings"),
    "CheckReport": ("jobs", "CheckReport"),
    "ConfirmationDeclined": ("errors", "ConfirmationDeclined"),
    "DataDirError": ("errors", "DataDirError"),
    "Delivery": ("schema", "Delivery"),
    "GatewayAuthError": ("errors", "GatewayAuthError"),
    "GatewayError": ("errors", "GatewayError"),
    "GatewayUnavailable": ("errors", "GatewayUnavailable"),
    "HeaderError": ("errors", "HeaderError"),
    "InputError": ("errors", "InputError"),
    "KudenError": ("errors", "KudenError"),
    "LedgerError": ("errors", "LedgerError"),
    "LedgerLostError": ("errors", "LedgerLostError"),
    "PhoneCheck": ("phone", "PhoneCheck"),
    "Preview": ("jobs", "Preview"),
    "ResultCode": ("schema", "ResultCode"),
    "RowPlan": ("row_plan", "RowPlan"),
    "RowSpecError": ("errors", "RowSpecError"),
    "SendOutcome": ("jobs", "SendOutcome"),
    "SendPlan": ("plan", "SendPlan"),
    "SettingsError": ("errors", "SettingsError"),
    "Template": ("message", "Template"),
    "WorkbookError": ("errors", "WorkbookError"),
    "WorkbookLockedError": ("errors", "WorkbookLockedError"),
    "WorkbookSaveError": ("errors", "WorkbookSaveError"),
    "XlsxTable": ("books.xlsx", "XlsxTable"),
    "check": ("jobs", "check"),
    "check_body": ("message", "check_body"),
    "check_many": ("phone", "check_many"),
    "check_phone": ("phone", "check"),
    "connect": ("jobs", "connect"),
    "count": ("message", "count"),
    "plan": ("plan", "plan"),
    "prepare_send": ("jobs", "prepare_send"),
    "preview": ("jobs", "preview"),
    "refresh_status": ("jobs", "refresh_status"),
    "render": ("message", "render"),
    "send": ("jobs", "send"),
    "workbook_lock": ("books.lock", "workbook_lock"),
}

__all__ = [
    "AddinBuildError",
    "BodyCheck",
    "CampaignSettings",
    "CheckReport",
    "ConfirmationDeclined",
    "DataDirError",
    "Delivery",
    "GatewayAuthError",
    "GatewayError",
    "GatewayUnavailable",
    "HeaderError",
    "InputError",
    "KudenError",
    "LedgerError",
    "LedgerLostError",
    "PhoneCheck",
    "Preview",
    "ResultCode",
    "RowPlan",
    "RowSpecError",
    "SendOutcome",
    "SendPlan",
    "SettingsError",
    "Template",
    "WorkbookError",
    "WorkbookLockedError",
    "WorkbookSaveError",
    "XlsxTable",
    "check",
    "check_body",
    "check_many",
    "check_phone",
    "connect",
    "count",
    "plan",
    "prepare_send",
    "preview",
    "refresh_status",
    "render",
    "send",
    "workbook_lock",
]


def __getattr__(name: str) -> Any:
    if name == "__version__":
        from .version import installed_version

        value: Any = installed_version()
    else:
        try:
            module, attribute = _EXPORTS[name]
        except KeyError:
            raise AttributeError(f"module 'kuden_xl' has no attribute {name!r}") from None
        value = getattr(importlib.import_module(f".{module}", __name__), attribute)
    globals()[name] = value  # resolve once
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__) | {"__version__"})


if TYPE_CHECKING:
    __version__: str
    from .books.lock import workbook_lock
    from .books.xlsx import XlsxTable
    from .campaign import CampaignSettings
    from .errors import (
        AddinBuildError,
        ConfirmationDeclined,
        DataDirError,
        GatewayAuthError,
        GatewayError,
        GatewayUnavailable,
        HeaderError,
        InputError,
        KudenError,
        LedgerError,
        LedgerLostError,
        RowSpecError,
        SettingsError,
        WorkbookError,
        WorkbookLockedError,
        WorkbookSaveError,
    )
    from .jobs import (
        CheckReport,
        Preview,
        SendOutcome,
        check,
        connect,
        prepare_send,
        preview,
        refresh_status,
        send,
    )
    from .message import BodyCheck, Template, check_body, count, render
    from .phone import PhoneCheck, check_many
    from .phone import check as check_phone
    from .plan import SendPlan, plan
    from .row_plan import RowPlan
    from .schema import Delivery, ResultCode
