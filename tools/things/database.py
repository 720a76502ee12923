"""Finding the Things database and opening it read-only, with clear errors.

A fresh read-only connection per operation is cheap (tens of microseconds; see
``benchmarks/bench_things_reader.py``) and sidesteps sharing sqlite3 connections between the MCP
layer's worker threads. The schema check runs once per ``ThingsDatabase``.
"""

from __future__ import annotations

import logging
import os
import re
import sqlite3
import threading
from collections.abc import Hashable, Mapping
from pathlib import Path

from tools.things.errors import (
    DatabaseAccessDeniedError,
    DatabaseError,
    DatabaseLockedError,
    DatabaseNotFoundError,
    DatabaseUnreadableError,
    UnsupportedSchemaError,
)
from tools.things.snapshot import file_stamp

logger = logging.getLogger(__name__)

_GROUP_CONTAINER = "Library/Group Containers/JLMPQHK86H.com.culturedcode.ThingsMac"
_DATABASE_SUFFIX = "Things Database.thingsdatabase/main.sqlite"

# How long a query waits for another connection's lock. Things holds its write locks for milliseconds;
# SQLite's 5 s default would stall every call (and the agent behind it) while a backup or a stuck
# process holds the file, so wait briefly and answer ``database_locked`` instead.
BUSY_TIMEOUT_SECONDS = 1.0
_BUSY_CODES = frozenset({sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED})
# SQLite reports a table or column the query names but the file lacks with these (stable) messages.
_SCHEMA_MESSAGES = ("no such table", "no such column")

MIN_DATABASE_VERSION = 24
MAX_KNOWN_DATABASE_VERSION = 26

# Columns the reader relies on; a database lacking any is not one we can read correctly.
REQUIRED_COLUMNS: Mapping[str, frozenset[str]] = {
    "TMTask": frozenset(
        {
            "uuid",
            "type",
            "status",
            "trashed",
            "title",
            "notes",
            "start",
            "startDate",
            "startBucket",
            "reminderTime",
            "deadline",
            "deadlineSuppressionDate",
            "index",
            "todayIndex",
            "area",
            "project",
            "heading",
            "creationDate",
            "userModificationDate",
            "stopDate",
            "rt1_repeatingTemplate",
            "rt1_recurrenceRule",
        }
    ),
    "TMArea": frozenset({"uuid", "title", "index"}),
    "TMTag": frozenset({"uuid", "title", "shortcut", "parent", "index"}),
    "TMTaskTag": frozenset({"tasks", "tags"}),
    "TMAreaTag": frozenset({"areas", "tags"}),
    "TMChecklistItem": frozenset({"uuid", "title", "status", "index", "task"}),
    "TMSettings": frozenset({"uuid", "uriSchemeAuthenticationToken"}),
    "Meta": frozenset({"key", "value"}),
}

_VERSION_RE = re.compile(r"<integer>\s*(-?\d+)\s*</integer>")


def discover_database_path(home: Path, override: Path | None = None, *, access_advice: str = "") -> Path:
    """Where the Things database is: ``override`` if given, else the macOS locations under ``home``.

    Things 3.15.16 and later keep it under a ``ThingsData-*`` folder; older versions one level up. A
    container macOS will not let us list or stat (no Full Disk Access) is :class:`DatabaseAccessDeniedError`
    carrying ``access_advice`` — never "not found", which would hide the cause.
    """
    if override is not None:
        if not override.is_file():
            raise DatabaseNotFoundError(f"No Things database at {override}; check the configured path.")
        return override
    container = home / _GROUP_CONTAINER
    try:
        entries = sorted(entry.name for entry in os.scandir(container) if entry.name.startswith("ThingsData-"))
    except FileNotFoundError:
        entries = None
    except PermissionError as exc:
        raise _access_denied(container, exc, access_advice) from None
    candidates = [container / name / _DATABASE_SUFFIX for name in entries or ()]
    candidates.append(container / _DATABASE_SUFFIX)
    for candidate in candidates:
        try:
            candidate.stat()
        except FileNotFoundError:
            continue
        except PermissionError as exc:
            raise _access_denied(candidate, exc, access_advice) from None
        if candidate.is_file():
            return candidate
    where = "Things 3 is not installed for this user" if entries is None else "Things 3 has no database there yet"
    raise DatabaseNotFoundError(
        f"No Things 3 database found under {container} ({where}). Install Things 3 from the Mac App Store and "
        "open it once, or set things_database to the database's path."
    )


def _access_denied(path: Path, exc: OSError, advice: str) -> DatabaseAccessDeniedError:
    return DatabaseAccessDeniedError(
        f"macOS refused access to the Things data at {path} ({exc.strerror}). "
        + (advice or "Grant Full Disk Access to the program running agent-auth (System Settings > Privacy & Security).")
    )


def _unreadable(path: Path, exc: sqlite3.Error) -> DatabaseUnreadableError:
    return DatabaseUnreadableError(
        f"Cannot read the Things database at {path} ({exc}). On macOS, grant Full Disk Access to the "
        "program running agent-auth (System Settings > Privacy & Security; 'agent-auth doctor' names it). "
        "SQLite also needs to create the '-shm' file of a WAL database, so the database's directory must be "
        "writable by this user even for read-only access. Do not serve a copy: its reads go stale and writes "
        "made through Things never appear in it."
    )


def database_error(exc: sqlite3.OperationalError, path: Path | None = None) -> DatabaseError:
    """The Things error for a failed SQLite operation: locked, a schema we cannot read, or unreadable."""
    where = f" at {path}" if path is not None else ""
    # The primary code (low byte) also covers SQLITE_BUSY_RECOVERY and friends; an error raised by hand
    # (as tests do) carries no code at all.
    if getattr(exc, "sqlite_errorcode", 0) & 0xFF in _BUSY_CODES:
        return DatabaseLockedError(
            f"The Things database{where} is locked by another program ({exc}); try again in a moment. "
            "If it stays locked, quit whatever holds it open for writing (a backup or sync tool)."
        )
    if str(exc).startswith(_SCHEMA_MESSAGES):
        return UnsupportedSchemaError(
            f"The Things database{where} does not have the shape agent-auth reads ({exc}). "
            "Update Things 3 and agent-auth to versions that support each other."
        )
    if path is None:
        return DatabaseUnreadableError(
            f"Reading the Things database failed ({exc}). On macOS check Full Disk Access; the "
            "database directory must be writable for SQLite's WAL '-shm' file."
        )
    return _unreadable(path, exc)


class ThingsDatabase:
    """A Things database file: opens read-only connections after checking the schema once."""

    def __init__(self, path: Path, *, busy_timeout_seconds: float = BUSY_TIMEOUT_SECONDS) -> None:
        self._path = path
        self._busy_timeout_seconds = busy_timeout_seconds
        self._checked = False
        self._lock = threading.Lock()
        self._stamp = file_stamp(path)

    @property
    def path(self) -> Path:
        return self._path

    def stamp(self) -> Hashable:
        """Changes whenever the database or its WAL is written (see ``tools.things.snapshot``)."""
        return self._stamp()

    def connect(self) -> sqlite3.Connection:
        """A new read-only connection in autocommit mode; the caller closes it."""
        if not self._path.exists():
            raise DatabaseNotFoundError(f"No Things database at {self._path}; check the configured path.")
        uri = self._path.absolute().as_uri() + "?mode=ro"
        try:
            conn = sqlite3.connect(
                uri,
                uri=True,
                isolation_level=None,
                check_same_thread=False,
                timeout=self._busy_timeout_seconds,
            )
        except sqlite3.Error as exc:
            raise _unreadable(self._path, exc) from exc
        try:
            if not self._checked:
                with self._lock:
                    check_schema(conn, self._path)
                    self._checked = True
        except BaseException:
            conn.close()
            raise
        return conn


def check_schema(conn: sqlite3.Connection, path: Path) -> int:
    """Verify tables, columns and ``Meta.databaseVersion``; return the version."""
    try:
        return _check_schema(conn, path)
    except sqlite3.OperationalError as exc:
        raise database_error(exc, path) from exc
    except sqlite3.DatabaseError as exc:
        raise UnsupportedSchemaError(f"{path} is not an SQLite database ({exc}).") from exc


def _check_schema(conn: sqlite3.Connection, path: Path) -> int:
    tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    # The version first: an older Things release also lacks newer columns, and the person then needs
    # to update Things, not agent-auth.
    row = conn.execute("SELECT value FROM Meta WHERE key = 'databaseVersion'").fetchone() if "Meta" in tables else None
    match = _VERSION_RE.search(str(row[0])) if row is not None else None
    if match is None:
        raise UnsupportedSchemaError(f"{path} has no Meta.databaseVersion; it is not a Things 3 database.")
    version = int(match.group(1))
    if version < MIN_DATABASE_VERSION:
        raise UnsupportedSchemaError(
            f"Things database version {version} is older than {MIN_DATABASE_VERSION}: update Things 3 "
            "(the Mac App Store or Things > Check for Updates), open it once, then try again."
        )
    for table, required in REQUIRED_COLUMNS.items():
        if table not in tables:
            raise UnsupportedSchemaError(f"{path} is not a Things 3 database: table {table} is missing.")
        present = {row[1] for row in conn.execute(f'PRAGMA table_info("{table}")')}
        missing = sorted(required - present)
        if missing:
            raise UnsupportedSchemaError(
                f"Unsupported Things database schema (version {version}): {table} lacks {', '.join(missing)}. "
                "Update agent-auth to a version that supports this Things release."
            )
    try:
        conn.execute("SELECT rowid FROM TMTask LIMIT 0").fetchall()
    except sqlite3.OperationalError as exc:
        if not str(exc).startswith("no such column"):  # a WITHOUT ROWID table; anything else is mapped above
            raise
        raise UnsupportedSchemaError(
            f"Unsupported Things database schema (version {version}): TMTask has no rowid, by which lists are "
            "paged. Update agent-auth to a version that supports this Things release."
        ) from exc
    if version > MAX_KNOWN_DATABASE_VERSION:
        # Newer Things releases have kept the columns we read; refusing would break users on every
        # Things update, and the column check above still guards the shape we rely on.
        logger.warning(
            "Things database version %d is newer than the versions tested (<= %d)",
            version,
            MAX_KNOWN_DATABASE_VERSION,
        )
    return version
