"""Paging slices one snapshot of a list, and any write to the database makes a fresh one."""

from __future__ import annotations

from pathlib import Path

from tests.things.conftest import WritableThings
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
        snapshots.put(key, 1, [(key,)])
    assert snapshots.get("a", 1) is None and snapshots.get("c", 1) == [("c",)]
    assert snapshots.get("c", 2) is None
