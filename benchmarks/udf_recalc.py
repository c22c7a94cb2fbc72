"""Benchmark: the Python side of recalculating =KUDEN_CHECK over N rows, per cell vs per range.

What Excel adds on top cannot be measured here: per cell, each formula is one VBA wrapper call,
xlwings' config lookups in VBA and two cross-process COM calls into the UDF server; per range,
that happens once. This prints the Python part only, three ways:

* per cell, cold: every distinct number checked once (cache cleared first);
* per cell, warm: a recalculation with unchanged numbers (every call a cache hit);
* per range: one call with the whole column (one vectorised ``check_many``).

    python benchmarks/udf_recalc.py [--n 10000] [--repeat 5]

The last line printed is the RESULT line.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from kuden_xl.excel import udfs  # noqa: E402


def column(n: int) -> list[list[object]]:
    """N cells as Excel hands them: text numbers, Excel's floats, blanks, a few bad ones."""
    cells: list[list[object]] = []
    for i in range(n):
        prefix = ("090", "080", "070")[i % 3]
        tail = 1000 + (i * 7) % 9000
        kind = i % 20
        value: object = f"{prefix}-1234-{tail:04d}"
        if kind == 0:
            value = float(f"{prefix[1:]}1234{tail:04d}")  # the leading 0 lost
        elif kind == 1:
            value = None
        elif kind == 2:
            value = "03-1234-5678"
        cells.append([value])
    return cells


def best(repeat: int, fn: Callable[[], object], before: Callable[[], None] = lambda: None) -> float:
    times = []
    for _ in range(repeat):
        before()
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    cells = column(args.n)

    def per_cell() -> None:
        for row in cells:
            udfs.KUDEN_CHECK(row[0])

    def per_range() -> None:
        udfs.KUDEN_CHECK(cells)

    clear = udfs._check_cached.cache_clear
    cold = best(args.repeat, per_cell, clear)
    per_cell()
    warm = best(args.repeat, per_cell)
    ranged = best(args.repeat, per_range)
    n = args.n
    print(f"per cell, cold : {cold * 1e3:8.1f} ms  ({cold / n * 1e6:6.1f} µs a cell)")
    print(f"per cell, warm : {warm * 1e3:8.1f} ms  ({warm / n * 1e6:6.1f} µs a cell)")
    print(f"per range      : {ranged * 1e3:8.1f} ms  (one call for {n:,} cells)")
    print(
        f"RESULT n={n} per_cell_cold_ms={cold * 1e3:.1f} per_cell_warm_ms={warm * 1e3:.1f} "
        f"per_range_ms={ranged * 1e3:.1f}"
    )


if __name__ == "__main__":
    main()
