"""One exception tree for kuden_xl.

Every error a user can meet is a ``KudenError``; third-party exceptions are translated at the
boundary (``raise ... from exc``). Each message is Japanese first (staff read it), with a short
English gloss after `` / `` for developers and logs. Beside the message, each error carries the
fields a program can act on, None where they do not apply: ``path`` (the workbook or file),
``sheet``, ``cell`` (an A1 address) or ``row`` (a sheet row number), ``provider`` and ``status``
(the gateway's HTTP status). Every GatewayError from ``kuden_xl.gateways`` names its provider
as the config does (``sandbox``, ``karaden``, ``aos``, ``twilio``), and its status when an
answer came (AOS answers 200 even when it refuses)::

    KudenError
    ├── InputError              bad input from the user: the workbook, a row range, an option
    │   ├── WorkbookError       cannot open / read / save the workbook, or it would be damaged
    │   │   ├── WorkbookLockedError   open in Excel or LibreOffice, or another run holds it
    │   │   ├── WorkbookSaveError     a save failed (disk full, folder not writable): stop sending
    │   │   └── HeaderError     no phone column in the header
    │   ├── RowSpecError        a --rows value that cannot be parsed or lies outside the sheet
    │   └── SettingsError       a 設定 value, option or environment variable that is wrong
    ├── ConfirmationDeclined    the user said no (or could not be asked); nothing was sent
    ├── LedgerError             the send ledger cannot be opened or written
    │   └── LedgerLostError     missing, empty, older or another than this PC last saw
    ├── DataDirError            the user data folder (ledger, locks, sandbox) is not writable
    ├── AddinBuildError         kuden_xl.xlam cannot be built (template, xlwings, UDF modules)
    └── GatewayError            the SMS gateway failed as a whole (not one message)
        ├── GatewayAuthError    credentials refused
        ├── GatewayQuotaError   the plan's sending quota is used up (AOS 300): stop the run
        └── GatewayUnavailable  cannot be reached at all (connection, TLS, proxy)
"""

from __future__ import annotations

from os import PathLike


class KudenError(Exception):
    """Root of every kuden_xl error; ``str(err)`` is a message fit to show a user."""

    def __init__(
        self,
        message: str = "",
        *,
        path: str | PathLike[str] | None = None,
        sheet: str | None = None,
        cell: str | None = None,
        row: int | None = None,
        provider: str | None = None,
        status: int | None = None,
    ) -> None:
        super().__init__(message)
        self.path = path
        self.sheet = sheet
        self.cell = cell
        self.row = row
        self.provider = provider
        self.status = status


class InputError(KudenError):
    """Bad input from the user: fixable by them, nothing was sent."""


class WorkbookError(InputError):
    """The workbook cannot be opened, read or saved safely."""


class WorkbookLockedError(WorkbookError):
    """The workbook is open in Excel/LibreOffice, or another kuden-xl run is using it."""


class WorkbookSaveError(WorkbookError):
    """Results could not be saved to the workbook (disk full, folder not writable, …).

    Raised before the first message when the save is found impossible; mid-run it stops sending
    (the ledger holds what was sent and the next run writes it back).
    """


class HeaderError(WorkbookError):
    """The sheet's header has no phone-number column."""


class RowSpecError(InputError):
    """A row selection that cannot be parsed or points outside the sheet."""


class SettingsError(InputError):
    """A setting (設定 sheet, option, environment, config file) has a wrong value."""


class ConfirmationDeclined(KudenError):
    """The user declined the send (or no terminal was there to ask); nothing was sent."""


class LedgerError(KudenError):
    """The send ledger cannot be opened or written."""


class LedgerLostError(LedgerError):
    """The ledger is missing, empty, older than, or another than the one this PC last saw.

    Everything it protected could be sent again, so the run stops until someone accepts the
    ledger as it is on purpose (``kuden-xl ledger reset --i-understand``).
    """


class DataDirError(KudenError):
    """The user data folder (ledger, locks, sandbox state) cannot be created or written."""


class AddinBuildError(KudenError):
    """The add-in cannot be built: no xlwings, a template of another version, a UDF or ribbon
    module that would not work in Excel."""


class GatewayError(KudenError):
    """The SMS gateway failed as a whole."""


class GatewayAuthError(GatewayError):
    """The gateway refused our credentials."""


class GatewayQuotaError(GatewayError):
    """The provider's sending quota is exhausted: no message can succeed until it is raised."""


class GatewayUnavailable(GatewayError):
    """The gateway cannot be reached (connection refused, DNS, TLS, proxy)."""
