"""Paging slices one snapshot of a list, and any write to the database makes a fresh one."""

from __future__ import annotations

import sqlite3
from collections.abc import Hashable
from contextlib import closing
from pathlib import Path

from tests.things.conftest import BERLIN, TODAY, FakeClock, WritableThings, noon
from tools.things.database import ThingsDatabase
from tools.things.sample import generate
from tools.things.service import ThingsService
from tools.things.snapshot import ListSnapshots, file_stamp


def test_later_pages_see_a_write_made_after_the_snapshot(writable: WritableThings) -> None:
    service = writable.service
    before = service.list_todos(list="anytime", limit=2, offset=2)  # offset > 0: served from a snapshot
    result = service.add_todo(title="Fresh anytime item", when="anytime")
    assert result.status == "confirmed"
    after = service.list_todos(list="anytime", limit=2, offset=2)
    assert after.total == before.total + 1
    ids = set()
    offset = 0
    while offset < after.total:
        ids |= {t.id for t in service.list_todos(list="anytime", limit=50, offset=offset).items}
        offset += 50
    assert result.id in ids


def test_pages_from_the_snapshot_match_pages_from_the_query(writable: WritableThings) -> None:
    service = writable.service
    first = service.list_todos(list="logbook", limit=3)
    sliced = service.list_todos(list="logbook", limit=3, offset=3)
    larger = service.list_todos(list="logbook", limit=6)
    assert [t.id for t in first.items + sliced.items] == [t.id for t in larger.items]
    assert first.total == sliced.total == larger.total


def test_the_stamp_changes_when_the_database_is_written(tmp_path: Path) -> None:
    path = tmp_path / "db"
    path.write_bytes(b"one")
    stamp = file_stamp(path)
    first = stamp()
    (tmp_path / "db-wal").write_bytes(b"frame")
    assert stamp() != first


def test_snapshots_are_bounded_and_expire_with_the_stamp() -> None:
    snapshots = ListSnapshots(lambda: 1, max_entries=2)
    for key in ("a", "b", "c"):
        snapshots.put(key, 1, [ord(key)])
    assert snapshots.get("a", 1) is None and snapshots.get("c", 1) == [ord("c")]
    assert snapshots.get("c", 2) is None


def test_a_write_landing_during_a_read_never_mixes_a_cached_order_with_newer_rows(tmp_path: Path) -> None:
    """The cached order belongs to one state of the database; a page read after a write (here: the write
    lands right after the stamp is taken, before the page's rows are read) is rebuilt from one state."""
    sample = generate(tmp_path / "main.sqlite", todos=60, today=TODAY, seed=3)
    database = ThingsDatabase(sample.path)
    real_stamp = file_stamp(sample.path)
    write_after_next_stamp: list[str] = []

    def stamp() -> Hashable:
        value = real_stamp()
        while write_after_next_stamp:  # another program writes right after this stamp was taken
            with closing(sqlite3.connect(sample.path)) as conn, conn:
                conn.execute(
                    "UPDATE TMTask SET status = 3, stopDate = 0 WHERE uuid = ?", (write_after_next_stamp.pop(),)
                )
        return value

    service = ThingsService(database.connect, None, FakeClock(noon(TODAY)), BERLIN, snapshots=ListSnapshots(stamp))
    before = service.list_todos(list="anytime", limit=500)  # scans and caches the list's order
    done = before.items[1].id
    write_after_next_stamp.append(done)
    page = service.list_todos(list="anytime", limit=500)
    assert page.total == before.total - 1
    assert done not in {t.id for t in page.items}
    assert all(t.status == "open" for t in page.items)
    assert [t.id for t in page.items] == [t.id for t in before.items if t.id != done]
