"""Cached list snapshots, so paging through a list scans and sorts it once, not once per page.

An agent reads a long list page by page. Re-running the count, the scan and the sort for every page
made a whole-list read several times slower than one query. Instead, the first page scans the list
once into its ordered rowids and keeps them, keyed by the query and its parameters: the total is
their number, and every page (the first one too) fetches just its own rows by rowid.

A snapshot is valid only while the database is unchanged: each entry carries a stamp of the database
files (size and modification time, in nanoseconds, of the main file and its ``-wal``; Things keeps its
database in WAL mode, so every commit changes the ``-wal``). Any write, by Things or anything else,
changes the stamp and the next read starts afresh. Entries are few and bounded.
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from pathlib import Path

Rowids = list[int]
Stamp = Callable[[], Hashable]

MAX_SNAPSHOTS = 16


def file_stamp(path: Path) -> Callable[[], Hashable]:
    """A stamp that changes whenever the database at ``path`` (or its WAL) is written."""
    wal = path.with_name(path.name + "-wal")

    def stamp() -> Hashable:
        parts: list[tuple[int, int] | None] = []
        for candidate in (path, wal):
            try:
                info = os.stat(candidate)
            except OSError:
                parts.append(None)
            else:
                parts.append((info.st_size, info.st_mtime_ns))
        return tuple(parts)

    return stamp


class ListSnapshots:
    """A small LRU of lists in order (their rowids), each valid for one database stamp."""

    def __init__(self, stamp: Stamp, max_entries: int = MAX_SNAPSHOTS) -> None:
        self._stamp = stamp
        self._max_entries = max_entries
        self._entries: OrderedDict[Hashable, tuple[Hashable, Rowids]] = OrderedDict()
        self._lock = threading.Lock()

    def current_stamp(self) -> Hashable:
        return self._stamp()

    def get(self, key: Hashable, stamp: Hashable) -> Rowids | None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is None or entry[0] != stamp:
                return None
            self._entries.move_to_end(key)
            return entry[1]

    def put(self, key: Hashable, stamp: Hashable, rows: Rowids) -> None:
        with self._lock:
            self._entries[key] = (stamp, rows)
            self._entries.move_to_end(key)
            while len(self._entries) > self._max_entries:
                self._entries.popitem(last=False)
