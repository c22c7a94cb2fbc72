"""The send ledger against real SQLite files in tmp_path."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import textwrap
import threading
import uuid
from collections import Counter
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from ledger_helpers import recent, recent_many

from kuden_xl.errors import LedgerError
from kuden_xl.ledger import (
    LEDGER_ENV,
    Identity,
    Ledger,
    State,
    default_ledger_path,
    scrub_reason,
)
from kuden_xl.schema import Delivery, ResultCode

REPO = Path(__file__).resolve().parents[1]
T0 = datetime(2026, 11, 27, 1, 0, tzinfo=timezone.utc)  # 10:00 in Japan


def number(i: int) -> str:
    return f"090{1234:04d}{i:04d}"


def send_id() -> str:
    return uuid.uuid4().hex


@pytest.fixture
def ledger(tmp_path: Path) -> Ledger:
    with Ledger.open(tmp_path / "ledger.sqlite3") as opened:
        yield opened


def reserve(led: Ledger, ident: Identity, at: datetime = T0, **kw: object) -> str:
    sid = send_id()
    args: dict[str, object] = {"provider": "sandbox", "segments": 1, "at": at}
    args.update(kw)
    led.reserve(ident, send_id=sid, **args)  # type: ignore[arg-type]
    return sid


def accept(led: Ledger, sid: str, message_id: str = "m-1") -> None:
    led.settle(sid, state=State.ACCEPTED, code=ResultCode.ACCEPTED, message_id=message_id)


# -- the file -------------------------------------------------------------------------------


def test_open_creates_folders_wal_and_schema_version(tmp_path: Path) -> None:
    path = tmp_path / "a" / "b" / "ledger.sqlite3"
    with Ledger.open(path) as led:
        ident = led.identity("09012340001", "本文")
    assert path.is_file()
    raw = sqlite3.connect(path)
    assert raw.execute("PRAGMA user_version").fetchone()[0] == 2
    assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    raw.close()
    # The secret is stored in the file: reopening gives the same identities.
    with Ledger.open(path) as again:
        assert again.identity("09012340001", "本文") == ident


def test_number_and_body_never_in_clear(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite3"
    num = "09012345678"
    body = "山田太郎様、国民健康保険料12,345円の納付をお願いします。"
    with Ledger.open(path) as led:
        ident = led.identity(num, body)
        sid = reserve(led, ident, workbook="督促.xlsx", sheet="名簿", row=7)
        led.settle(
            sid,
            state=State.REJECTED,
            code=ResultCode.REJECTED,
            reason=f"宛先 {num} は受信拒否です (090-1234-5678)",
        )
        entry = led.get(sid)
        assert entry is not None and entry.reason is not None
        assert num not in entry.reason and "090-1234-5678" not in entry.reason
        raw = b"".join(
            p.read_bytes()
            for p in tmp_path.iterdir()
            if p.is_file() and p.name.startswith("ledger")
        )
    assert len(raw) > 0
    for needle in (num, "090-1234-5678", body, "山田太郎"):
        assert needle.encode("utf-8") not in raw
        assert needle.encode("utf-16-le") not in raw
    assert "督促.xlsx".encode() in raw  # audit fields are kept (no personal data in them)


def test_secret_differs_between_ledgers(tmp_path: Path) -> None:
    with Ledger.open(tmp_path / "one.sqlite3") as one, Ledger.open(tmp_path / "two.sqlite3") as two:
        a = one.identity("09012340001", "本文")
        b = two.identity("09012340001", "本文")
    assert a.number_hash != b.number_hash and a.body_hash != b.body_hash
    secrets = [
        sqlite3.connect(tmp_path / name).execute("SELECT value FROM meta").fetchone()[0]
        for name in ("one.sqlite3", "two.sqlite3")
    ]
    assert len(secrets[0]) == 32 and secrets[0] != secrets[1]


def test_identity_separates_number_and_body(ledger: Ledger) -> None:
    a = ledger.identity("09012340001", "本文")
    assert a == ledger.identity("09012340001", "本文")
    assert a.number_hash != ledger.identity("09012340002", "本文").number_hash
    assert a.body_hash != ledger.identity("09012340001", "本文。").body_hash
    assert a.number_hash != a.body_hash


# -- reserve / settle -----------------------------------------------------------------------


def test_reserve_then_settle_round_trip(ledger: Ledger) -> None:
    ident = ledger.identity(number(1), "本文")
    slot = datetime(2026, 11, 28, 9, 0, tzinfo=timezone(timedelta(hours=9)))
    sid = send_id()
    entry = ledger.reserve(
        ident,
        send_id=sid,
        provider="sandbox",
        segments=2,
        workbook="名簿.xlsx",
        sheet="Sheet1",
        row=12,
        scheduled_at=slot,
        at=T0,
    )
    assert entry.state is State.RESERVED and entry.code is None
    assert (entry.workbook, entry.sheet, entry.row, entry.segments) == (
        "名簿.xlsx",
        "Sheet1",
        12,
        2,
    )
    assert entry.reserved_at == T0 and entry.reserved_at.tzinfo is not None
    assert entry.scheduled_at == slot and entry.sent_at == slot
    assert ledger.unsettled() == [entry]

    ledger.settle(
        sid,
        state=State.SCHEDULED,
        code=ResultCode.SCHEDULED,
        message_id="msg-9",
        at=T0 + timedelta(seconds=1),
    )
    settled = ledger.get(sid)
    assert settled is not None
    assert settled.state is State.SCHEDULED and settled.code is ResultCode.SCHEDULED
    assert settled.message_id == "msg-9"
    assert settled.settled_at == T0 + timedelta(seconds=1)
    assert ledger.unsettled() == []
    assert ledger.get(sid) == settled


def test_settle_rules(ledger: Ledger) -> None:
    ident = ledger.identity(number(1), "本文")
    sid = reserve(ledger, ident)
    with pytest.raises(ValueError):
        ledger.settle(sid, state=State.ACCEPTED, code=ResultCode.REJECTED)
    with pytest.raises(ValueError):
        ledger.settle(sid, state=State.RESERVED, code=ResultCode.ACCEPTED)
    with pytest.raises(LedgerError, match="ありません"):
        ledger.settle("nope", state=State.FAILED, code=ResultCode.GATEWAY_ERROR)
    # unknown may be settled again (reconciliation); a final state may not.
    ledger.settle(sid, state=State.UNKNOWN, code=ResultCode.UNKNOWN, reason="timeout")
    assert [e.send_id for e in ledger.unsettled()] == [sid]
    accept(ledger, sid, "m-7")
    assert ledger.get(sid).state is State.ACCEPTED  # type: ignore[union-attr]
    with pytest.raises(LedgerError, match="確定済み"):
        ledger.settle(sid, state=State.FAILED, code=ResultCode.GATEWAY_ERROR)


def test_in_flight_elsewhere(ledger: Ledger) -> None:
    own = reserve(ledger, ledger.identity(number(1), "本文"))
    with Ledger.open(ledger.path) as other:
        theirs = reserve(other, other.identity(number(2), "本文"))
        entries = {e.send_id: e for e in ledger.unsettled()}
        assert ledger.in_flight_elsewhere(entries[theirs])  # another open Ledger
        assert ledger.in_flight_elsewhere(entries[own])  # this one: a dispatch may be running
        assert other.in_flight_elsewhere(entries[own])
    entries = {e.send_id: e for e in ledger.unsettled()}
    assert not ledger.in_flight_elsewhere(entries[theirs])  # closed: nothing in flight
    accept(ledger, own)
    assert not ledger.in_flight_elsewhere(ledger.get(own))  # type: ignore[arg-type]


def test_reserve_twice_with_same_send_id_is_refused(ledger: Ledger) -> None:
    ident = ledger.identity(number(1), "本文")
    sid = reserve(ledger, ident)
    with pytest.raises(LedgerError):
        ledger.reserve(ident, send_id=sid, provider="sandbox", segments=1)
    assert ledger.count() == 1


def test_unsettled_lists_reserved_and_unknown_oldest_first(ledger: Ledger) -> None:
    sids = [reserve(ledger, ledger.identity(number(i), "本文")) for i in range(4)]
    accept(ledger, sids[0])
    ledger.settle(sids[1], state=State.UNKNOWN, code=ResultCode.UNKNOWN)
    ledger.settle(sids[3], state=State.FAILED, code=ResultCode.GATEWAY_ERROR)
    assert [e.send_id for e in ledger.unsettled()] == [sids[1], sids[2]]


def test_set_delivery(ledger: Ledger) -> None:
    sid = reserve(ledger, ledger.identity(number(1), "本文"))
    accept(ledger, sid, "m-42")
    assert ledger.set_delivery("m-42", Delivery.UNDELIVERED, "圏外", T0) == 1
    assert ledger.set_delivery("m-missing", Delivery.DELIVERED, None, T0) == 0
    entry = ledger.get(sid)
    assert entry is not None
    assert (entry.delivery, entry.delivery_reason, entry.delivery_checked_at) == (
        Delivery.UNDELIVERED,
        "圏外",
        T0,
    )


# -- find_sent / recent ------------------------------------------------------------------


def test_find_sent_is_newest_sent_entry(ledger: Ledger) -> None:
    ident = ledger.identity(number(1), "本文")
    assert ledger.find_sent(ident) is None
    first = reserve(ledger, ident)
    accept(ledger, first, "m-1")
    second = reserve(ledger, ident)  # same clock: insertion order decides 'newest'
    ledger.settle(second, state=State.UNKNOWN, code=ResultCode.UNKNOWN)
    later = reserve(ledger, ident)
    ledger.settle(later, state=State.REJECTED, code=ResultCode.REJECTED)
    reserve(ledger, ident)  # still reserved: not a settled record
    found = ledger.find_sent(ident)
    assert found is not None and found.send_id == second and found.code is ResultCode.UNKNOWN
    # Other bodies / numbers are not matched.
    assert ledger.find_sent(ledger.identity(number(1), "別の本文")) is None
    assert ledger.find_sent(ledger.identity(number(2), "本文")) is None


def test_find_sent_ignores_failed_and_rejected(ledger: Ledger) -> None:
    ident = ledger.identity(number(1), "本文")
    ledger.settle(reserve(ledger, ident), state=State.FAILED, code=ResultCode.GATEWAY_ERROR)
    ledger.settle(reserve(ledger, ident), state=State.REJECTED, code=ResultCode.REJECTED)
    assert ledger.find_sent(ident) is None


def test_find_sent_many_matches_find_sent_across_chunks(ledger: Ledger) -> None:
    idents = [ledger.identity(number(i), f"本文{i % 3}") for i in range(1_200)]
    for i, ident in enumerate(idents):
        if i % 4:
            accept(ledger, reserve(ledger, ident), f"m-{i}")
    # Same numbers, other bodies: must not be confused with the ones asked for.
    extra = ledger.identity(number(5), "本文9")
    ledger.settle(reserve(ledger, extra), state=State.UNKNOWN, code=ResultCode.UNKNOWN)
    found = ledger.find_sent_many(idents)
    assert len(found) == 900
    assert found == {i: e for i in idents if (e := ledger.find_sent(i)) is not None}
    assert found[idents[5]].message_id == "m-5"
    assert extra not in found


def test_recent_guard_window_boundary(ledger: Ledger) -> None:
    ident = ledger.identity(number(1), "本文")
    accept(ledger, reserve(ledger, ident, at=T0))
    week = timedelta(days=7)
    assert recent(ledger, ident, week, now=T0 + timedelta(days=3)) is not None
    assert recent(ledger, ident, week, now=T0 + week) is not None  # inclusive edge
    assert recent(ledger, ident, week, now=T0 + week + timedelta(microseconds=1)) is None
    assert recent(ledger, ident, timedelta(days=1), now=T0 + timedelta(days=2)) is None
    assert recent(ledger, ledger.identity(number(1), "別の本文"), week, now=T0) is None


def test_recent_counts_scheduled_time_reserved_and_not_failed(ledger: Ledger) -> None:
    week = timedelta(days=7)
    scheduled = ledger.identity(number(1), "本文")
    sid = reserve(ledger, scheduled, at=T0, scheduled_at=T0 + timedelta(days=5))
    ledger.settle(sid, state=State.SCHEDULED, code=ResultCode.SCHEDULED, message_id="m")
    # Delivered on day 5: still recent on day 11, no longer after day 12.
    assert recent(ledger, scheduled, week, now=T0 + timedelta(days=11)) is not None
    assert recent(ledger, scheduled, week, now=T0 + timedelta(days=12, seconds=1)) is None

    in_flight = ledger.identity(number(2), "本文")
    reserve(ledger, in_flight, at=T0)
    assert recent(ledger, in_flight, week, now=T0) is not None

    failed = ledger.identity(number(3), "本文")
    ledger.settle(reserve(ledger, failed), state=State.FAILED, code=ResultCode.GATEWAY_ERROR)
    assert recent(ledger, failed, week, now=T0) is None
    assert set(recent_many(ledger, [scheduled, in_flight, failed], week, now=T0)) == {
        scheduled,
        in_flight,
    }


def test_reserve_with_guard_returns_the_existing_send(ledger: Ledger) -> None:
    ident = ledger.identity(number(1), "本文")
    first = reserve(ledger, ident, at=T0)
    got = ledger.reserve(
        ident,
        send_id=send_id(),
        provider="sandbox",
        segments=1,
        at=T0 + timedelta(days=1),
        guard_within=timedelta(days=7),
    )
    assert got.send_id == first and ledger.count() == 1
    # Outside the window a new reservation is written.
    new = send_id()
    got = ledger.reserve(
        ident,
        send_id=new,
        provider="sandbox",
        segments=1,
        at=T0 + timedelta(days=8),
        guard_within=timedelta(days=7),
    )
    assert got.send_id == new and ledger.count() == 2


def test_naive_times_are_refused(ledger: Ledger) -> None:
    with pytest.raises(ValueError):
        reserve(ledger, ledger.identity(number(1), "本文"), at=datetime(2026, 11, 27, 10, 0))


# -- concurrency and failure ----------------------------------------------------------------


def test_sixteen_threads_lose_nothing(ledger: Ledger) -> None:
    total, workers = 2_000, 16
    errors: list[BaseException] = []
    done: list[str] = []
    done_lock = threading.Lock()

    def work(k: int) -> None:
        try:
            for i in range(k, total, workers):
                sid = reserve(ledger, ledger.identity(number(i), "本文"))
                if i % 10 == 0:
                    ledger.settle(sid, state=State.UNKNOWN, code=ResultCode.UNKNOWN)
                else:
                    accept(ledger, sid, f"m-{i}")
                with done_lock:
                    done.append(sid)
        except BaseException as exc:  # surfaced below: a thread's error must fail the test
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert ledger.count() == total and len(set(done)) == total
    assert len(ledger.unsettled()) == total // 10
    found = ledger.find_sent_many(ledger.identity(number(i), "本文") for i in range(total))
    assert len(found) == total


def test_group_commit_fails_only_the_bad_write(ledger: Ledger) -> None:
    """Writes from many threads share transactions; a duplicate send id fails alone."""
    taken = [send_id() for _ in range(50)]
    for sid in taken:
        ledger.reserve(ledger.identity(number(0), "本文"), send_id=sid, provider="s", segments=1)
    outcomes: list[str] = []
    lock = threading.Lock()

    def work(k: int) -> None:
        for i in range(k, 400, 16):
            sid = taken[i // 8] if i % 8 == 0 else send_id()  # every 8th reuses a send id
            try:
                ledger.reserve(
                    ledger.identity(number(i), "本文"), send_id=sid, provider="s", segments=1
                )
                result = "ok"
            except LedgerError:
                result = "dup"
            with lock:
                outcomes.append(result)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert Counter(outcomes) == {"ok": 350, "dup": 50}
    assert ledger.count() == 50 + 350


def test_not_a_sqlite_file(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite3"
    path.write_bytes(b"PK\x03\x04 this is a zip, not a ledger" * 200)
    with pytest.raises(LedgerError) as info:
        Ledger.open(path)
    assert "送信記録" in str(info.value) and str(path) in str(info.value)
    assert "壊れています" in str(info.value)


def test_an_unrelated_sqlite_database(tmp_path: Path) -> None:
    path = tmp_path / "other.db"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE t (x)")
    conn.commit()
    conn.close()
    with pytest.raises(LedgerError, match="送信記録（台帳）ではない"):
        Ledger.open(path)


def test_a_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite3"
    Ledger.open(path).close()
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA user_version = 99")
    conn.close()
    with pytest.raises(LedgerError, match="新しい版"):
        Ledger.open(path)


def test_locked_by_another_process_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite3"
    with Ledger.open(path, busy_timeout_s=0.2) as led:
        other = sqlite3.connect(path, isolation_level=None)
        other.execute("BEGIN EXCLUSIVE")
        try:
            with pytest.raises(LedgerError, match="使用中") as info:
                reserve(led, led.identity(number(1), "本文"))
            assert str(path) in str(info.value)
        finally:
            other.execute("ROLLBACK")
            other.close()
        reserve(led, led.identity(number(1), "本文"))  # works again once released
        assert led.count() == 1


def test_folder_that_cannot_be_created(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(LedgerError, match="フォルダ"):
        Ledger.open(blocker / "sub" / "ledger.sqlite3")


def test_reservations_survive_a_killed_process(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite3"
    script = textwrap.dedent(
        """
        import sys, time, uuid
        from datetime import datetime, timezone
        from pathlib import Path
        from kuden_xl.ledger import Ledger, State
        from kuden_xl.schema import ResultCode
        led = Ledger.open(Path(sys.argv[1]))
        for i in range(30):
            ident = led.identity(f"0901234{i:04d}", "本文")
            sid = uuid.uuid4().hex
            led.reserve(ident, send_id=sid, provider="sandbox", segments=1)
            if i < 10:
                led.settle(sid, state=State.ACCEPTED, code=ResultCode.ACCEPTED, message_id="m")
        print("ready", flush=True)
        time.sleep(60)
        """
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", script, str(path)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "ready"
        with Ledger.open(path) as led:
            # While that process lives, its reservations may be on the wire: hands off.
            assert all(led.in_flight_elsewhere(e) for e in led.unsettled())
    finally:
        proc.kill()  # SIGKILL: no close(), no checkpoint
        proc.wait(timeout=10)
        if proc.stdout is not None:
            proc.stdout.close()
    holders = path.with_name(path.name + ".holders")
    assert len(list(holders.iterdir())) == 1  # the dead process's lock file is still there
    with Ledger.open(path) as led:
        assert led.count() == 30
        open_entries = led.unsettled()
        assert len(open_entries) == 20
        assert {e.state for e in open_entries} == {State.RESERVED}
        # Its lock died with it: the entries are a crash's leftovers, to reconcile.
        assert not any(led.in_flight_elsewhere(e) for e in open_entries)
        assert len(list(holders.iterdir())) == 1  # only ours now
    assert list(holders.iterdir()) == []  # closing removes ours


# -- helpers --------------------------------------------------------------------------------


def test_default_ledger_path(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv(LEDGER_ENV, raising=False)
    monkeypatch.delenv("KUDEN_XL_DATA_DIR", raising=False)
    real, sandbox = default_ledger_path(False), default_ledger_path(True)
    assert real.name == "ledger.sqlite3" and sandbox.name == "ledger-sandbox.sqlite3"
    assert real.parent == sandbox.parent and "kuden_xl" in str(real.parent)
    monkeypatch.setenv("KUDEN_XL_DATA_DIR", str(tmp_path / "data"))
    assert default_ledger_path(True) == tmp_path / "data" / "ledger-sandbox.sqlite3"
    monkeypatch.setenv(LEDGER_ENV, str(tmp_path / "x" / "mine.db"))
    assert default_ledger_path(False) == tmp_path / "x" / "mine.db"
    assert default_ledger_path(True) == tmp_path / "x" / "mine-sandbox.db"


def test_scrub_reason() -> None:
    assert scrub_reason(None) is None
    assert scrub_reason("圏外") == "圏外"
    assert scrub_reason("to 09012345678 failed") == "to 090-****-5678 failed"
    assert scrub_reason("to 090-1234-5678.") == "to 090-****-5678."
    assert scrub_reason("code 429") == "code 429"
