from __future__ import annotations

import os

# Must happen before the first `import xlwings`: the remote engine registers at import time.
# PolyForm Noncommercial licence, which covers government institutions.
os.environ.setdefault("XLWINGS_LICENSE_KEY", "noncommercial")
