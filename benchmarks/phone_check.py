"""Benchmark: kuden_xl.phone.check_many against a naive per-value phonenumbers loop.

Builds N realistic cell values (fixed seed): synthetic mobile numbers 0X0-1234-NNNN in many messy
forms, landlines, toll-free, 050, 020, wrong lengths, letters, text in scientific notation,
empty cells, ~30% repeated values as in household lists. The baseline shares the cleaning step
(``phone.clean._clean``) and the verdict table (``phone.classify._verdict``) and calls
``phonenumbers.parse`` + ``is_valid_number`` + ``number_type`` for every value. Both must give
identical verdicts on every value; the last line printed is the RESULT line.

    python benchmarks/phone_check.py [--n 100000] [--seed 20260401]
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import phonenumbers  # noqa: E402

from kuden_xl import phone  # noqa: E402
from kuden_xl.phone import (  # noqa: E402
    PhoneCheck,  # noqa: E402
    classify,
    clean,
    result,
)

_FULL = str.maketrans("0123456789-", "０１２３４５６７８９－")


def _mobile_forms(rng: random.Random) -> object:
    x = rng.choice("9876")
    tail = f"{rng.randrange(10_000):04d}"
    n = f"0{x}01234{tail}"
    a, b, c = n[:3], n[3:7], n[7:]
    form = rng.randrange(20)
    forms: list[object] = [
        n,
        f"{a}-{b}-{c}",
        f"{a}-{b}-{c}",
        f"{a}-{b}-{c}".translate(_FULL),
        f"{a}ー{b}ー{c}",
        f"{a} {b} {c}",
        f"{a}\u3000{b}\u3000{c}",
        f"{a}({b}){c}",
        f"+81 {a[1:]}-{b}-{c}",
        f"+81-(0){a[1:]}-{b}-{c}",
        f"0081{n[1:]}",
        int(n),
        float(int(n)),
        n[1:],
        f"'{a}-{b}-{c}",
        f" {a}-{b}-{c} ",
        f"{a}.{b}.{c}",
        f"{a}−{b}−{c}",
        f"{a}–{b}–{c}",
        n,
    ]
    return forms[form]


def _other_forms(rng: random.Random) -> object:
    tail = f"{rng.randrange(10_000):04d}"
    table: list[object] = [
        f"03-1234-{tail}",
        f"06-1234-{tail}",
        f"011-234-{tail}",
        f"0276-12-{tail}",
        int(f"31234{tail}"),  # landline stored as a number
        f"0120-12-{tail}",
        f"0800-123-{tail}",
        f"050-1234-{tail}",
        f"020-1234-{tail}",
        f"0200-1234-56-{tail}",  # 14-digit M2M
        f"0570-01-{tail}",
        f"0990-12-{tail}",
        f"090-1234-{tail[:3]}",  # too short
        f"080-1234-{tail}9",  # too long
        f"O90-1234-{tail}",  # letter O
        f"090-1234-{tail}（本人）",
        f"9.01E+0{rng.choice('89')}",
        f"{rng.choice('9876')}.0{rng.randrange(10)}1234{tail[:2]}E+09",
        rng.choice([None, "", " ", "\u3000", "なし", "-"]),
        f"090-1234-{tail} / 080-1234-{tail}",
        f"090-0012-{tail}",  # unassigned 090-0 range
        f"020-4123-{tail}",  # 0204 pager block
        f"0600-123-{tail}",  # 11-digit FMC
        f"+81 10-1234-{tail}",  # a national number starting 10, not the 010 prefix
        f"(+81)90-1234-{tail}",
        f"0037-12-{tail}",  # 00xx toll-free (rare in household lists): the slow path
    ]
    weights = [1.0] * (len(table) - 1) + [0.1]
    return rng.choices(table, weights)[0]


def build(n: int, seed: int) -> list[object]:
    rng = random.Random(seed)
    distinct = int(n * 0.7)
    values = [
        _mobile_forms(rng) if rng.random() < 0.8 else _other_forms(rng) for _ in range(distinct)
    ]
    values += [rng.choice(values) for _ in range(n - distinct)]  # household lists repeat numbers
    rng.shuffle(values)
    return values


def naive(values: Sequence[object]) -> list[PhoneCheck]:
    out: list[PhoneCheck] = []
    for value in values:
        cleaned = clean._clean(value)
        if isinstance(cleaned, PhoneCheck):
            out.append(cleaned)
            continue
        planned = classify._plan_verdict(cleaned)  # 総務省's blocks the metadata lumps together
        if planned is not None:
            out.append(planned)
            continue
        try:
            number = phonenumbers.parse(cleaned, "JP")
        except phonenumbers.NumberParseException:
            out.append(classify._verdict(cleaned, cleaned[1:], None, allow_m2m=False))
            continue
        valid = phonenumbers.is_valid_number(number)
        if number.country_code != 81:  # '010 1 …': a call abroad
            out.append(
                result._foreign("") if valid else result._invalid(classify._invalid_reason(cleaned))
            )
            continue
        nsn = phonenumbers.national_significant_number(number)
        if valid:
            pn_type = int(phonenumbers.number_type(number))
            national = nsn if nsn.startswith("0") else "0" + nsn
            out.append(classify._verdict(national, nsn, pn_type, allow_m2m=False))
        else:
            # "+81…": a national number that followed a country code (never the 010 prefix)
            national = "0" + nsn if cleaned.startswith("+") else cleaned
            out.append(classify._verdict(national, nsn, None, allow_m2m=False))
    return out


def timed(fn: Callable[[], list[PhoneCheck]]) -> tuple[float, list[PhoneCheck]]:
    # CPU time of this process: other work on a shared machine does not count against either side.
    start = time.process_time()
    result = fn()
    return time.process_time() - start, result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=20260401)
    args = parser.parse_args()

    values = build(args.n, args.seed)
    distinct = len({(type(v), v) for v in values})
    print(f"values: {len(values)}  distinct: {distinct} ({1 - distinct / len(values):.0%} repeats)")
    phone.check("09012345678")  # compile the metadata tables once, as the add-in would
    naive(values[:100])

    # Best of 3, the two sides interleaved so that both meet the same machine conditions.
    fast_s = base_s = float("inf")
    for _ in range(3):
        seconds, fast = timed(lambda: phone.check_many(values))
        fast_s = min(fast_s, seconds)
        seconds, base = timed(lambda: naive(values))
        base_s = min(base_s, seconds)
    ok = sum(r.ok for r in fast)
    print(f"ok: {ok}  errors: {len(fast) - ok}")
    print(f"check_many: {fast_s:.3f} s (best of 3)")
    print(f"naive phonenumbers loop: {base_s:.3f} s (best of 3)")

    def key(r: PhoneCheck) -> tuple[object, ...]:
        return (r.ok, r.code, r.national, r.e164, r.kind, r.reason)

    diffs = [(v, f, b) for v, f, b in zip(values, fast, base, strict=True) if key(f) != key(b)]
    if diffs:
        for v, f, b in diffs[:10]:
            print(f"DISAGREE {v!r}: check_many={key(f)} baseline={key(b)}", file=sys.stderr)
        raise SystemExit(f"{len(diffs)} verdicts disagree with the phonenumbers baseline")
    print(
        f"verdicts identical on all {len(values)} values (ok, code, national, e164, kind, reason)"
    )

    value, baseline = len(values) / fast_s, len(values) / base_s
    print(
        f"RESULT name=phone_check value={value:.0f} unit=values/s "
        f"baseline={baseline:.0f} ratio={value / baseline:.2f}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
