"""kuden_xl: send SMS to the rows of an Excel worksheet; the workbook is the record.

The public API is resolved lazily, so ``import kuden_xl`` stays cheap (no requests, no
openpyxl): Excel's ribbon and UDFs import this package on every click and recalculation.

Example::

    from kuden_xl import check_phone, render
    check_phone("０９０－１２３４－５６７８").national   # '09012345678'
    render("{氏名}様", {"氏名": "山田"}).body           # '山田様'
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

# public name -> (module, attribute)
_EXPORTS: dict[str, tuple[str, str]] = {
    "BodyCheck": ("message", "BodyCheck"),
    "CampaignSettings": ("config", "CampaignSettings"),
    "ConfirmationDeclined": ("errors", "ConfirmationDeclined"),
    "Delivery": ("schema", "Delivery"),
    "GatewayError": ("errors", "GatewayError"),
    "HeaderError": ("errors", "HeaderError"),
    "InputError": ("errors", "InputError"),
    "KudenError": ("errors", "KudenError"),
    "LedgerError": ("errors", "LedgerError"),
    "PhoneCheck": ("phone", "PhoneCheck"),
    "ResultCode": ("schema", "ResultCode"),
    "RowPlan": ("plan", "RowPlan"),
    "RowSpecError": ("errors", "RowSpecError"),
    "SendPlan": ("plan", "SendPlan"),
    "SettingsError": ("errors", "SettingsError"),
    "Template": ("message", "Template"),
    "WorkbookError": ("errors", "WorkbookError"),
    "XlsxTable": ("books.xlsx", "XlsxTable"),
    "check_body": ("message", "check_body"),
    "check_many": ("phone", "check_many"),
    "check_phone": ("phone", "check"),
    "count": ("message", "count"),
    "plan": ("plan", "plan"),
    "render": ("message", "render"),
}

__all__ = [
    "BodyCheck",
    "CampaignSettings",
    "ConfirmationDeclined",
    "Delivery",
    "GatewayError",
    "HeaderError",
    "InputError",
    "KudenError",
    "LedgerError",
    "PhoneCheck",
    "ResultCode",
    "RowPlan",
    "RowSpecError",
    "SendPlan",
    "SettingsError",
    "Template",
    "WorkbookError",
    "XlsxTable",
    "check_body",
    "check_many",
    "check_phone",
    "count",
    "plan",
    "render",
]


def __getattr__(name: str) -> Any:
    try:
        module, attribute = _EXPORTS[name]
    except KeyError:
        raise AttributeError(f"module 'kuden_xl' has no attribute {name!r}") from None
    value = getattr(importlib.import_module(f".{module}", __name__), attribute)
    globals()[name] = value  # resolve once
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


if TYPE_CHECKING:
    from .books.xlsx import XlsxTable
    from .config import CampaignSettings
    from .errors import (
        ConfirmationDeclined,
        GatewayError,
        HeaderError,
        InputError,
        KudenError,
        LedgerError,
        RowSpecError,
        SettingsError,
        WorkbookError,
    )
    from .message import BodyCheck, Template, check_body, count, render
    from .phone import PhoneCheck, check_many
    from .phone import check as check_phone
    from .plan import RowPlan, SendPlan, plan
    from .schema import Delivery, ResultCode
