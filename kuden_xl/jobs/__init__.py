"""The jobs: one function per user action over a Table (and the demo, the report, the connection
test). The CLI and the ribbon call these; this package's names are the jobs' public face.

Jobs hold the orchestration (read → plan → confirm → dispatch → write) once; faces pass
callbacks for confirmation and progress and turn ``KudenError`` into their own messages. A job
that writes a workbook holds its lock (``locking``) unless ``connect`` holds it already.
"""

from .checking import CheckReport, check
from .connecting import connect
from .demonstration import demo
from .diagnosing import connection_test
from .planning import Preview, PreviewRow, prepare_send, preview
from .reading import load_settings
from .reporting import ReportOutcome, report
from .saving import SavePacer
from .sending import RowOutcome, SendOutcome, send
from .status import STATUS_BATCH, StatusOutcome, pending_status, refresh_status

__all__ = [
    "STATUS_BATCH",
    "CheckReport",
    "Preview",
    "PreviewRow",
    "ReportOutcome",
    "RowOutcome",
    "SavePacer",
    "SendOutcome",
    "StatusOutcome",
    "check",
    "connect",
    "connection_test",
    "demo",
    "load_settings",
    "pending_status",
    "prepare_send",
    "preview",
    "refresh_status",
    "report",
    "send",
]
