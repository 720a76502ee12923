"""The SQLite database: engine, pragmas, file modes and ordered migrations.

WAL mode; every write transaction starts with ``BEGIN IMMEDIATE`` so two processes never deadlock on a
lock upgrade; the database directory is 0700 and its files 0600 (checked and repaired on open).
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import Connection, Engine
from sqlmodel import create_engine

from auth.errors import SchemaTooNewError, StoreError
from auth.fsutil import ensure_private_dir, ensure_private_file

BUSY_TIMEOUT_MS = 10_000

_MIGRATIONS: list[tuple[int, list[str]]] = [
    (
        1,
        [
            """CREATE TABLE families (
                id VARCHAR(32) PRIMARY KEY NOT NULL,
                label VARCHAR,
                scopes_blob BLOB NOT NULL,
                created_at FLOAT NOT NULL,
                last_used_at FLOAT,
                revoked_at FLOAT,
                revoke_reason VARCHAR,
                access_ttl_seconds INTEGER NOT NULL,
                refresh_ttl_seconds INTEGER NOT NULL,
                rotated_to VARCHAR(32)
            )""",
            """CREATE TABLE tokens (
                id VARCHAR(32) PRIMARY KEY NOT NULL,
                family_id VARCHAR(32) NOT NULL REFERENCES families(id),
                kind VARCHAR NOT NULL CHECK (kind IN ('access', 'refresh')),
                created_at FLOAT NOT NULL,
                expires_at FLOAT NOT NULL,
                revoked_at FLOAT,
                consumed_at FLOAT
            )""",
            "CREATE INDEX ix_tokens_family_id ON tokens(family_id)",
            "CREATE INDEX ix_tokens_expires_at ON tokens(expires_at)",
            "CREATE TABLE changes (seq INTEGER PRIMARY KEY AUTOINCREMENT, family_id VARCHAR(32) NOT NULL)",
            "CREATE TABLE meta (key VARCHAR PRIMARY KEY NOT NULL, value VARCHAR NOT NULL)",
        ],
    ),
    (
        2,
        [
            """CREATE TABLE oauth_clients (
                id VARCHAR(64) PRIMARY KEY NOT NULL,
                info_blob BLOB NOT NULL,
                created_at FLOAT NOT NULL,
                last_used_at FLOAT
            )""",
            """CREATE TABLE oauth_authorizations (
                id VARCHAR(64) PRIMARY KEY NOT NULL,
                client_id VARCHAR(64) NOT NULL,
                status VARCHAR NOT NULL
                    CHECK (status IN ('pending', 'approved', 'denied', 'delivered', 'exchanged')),
                request_blob BLOB NOT NULL,
                decision_blob BLOB,
                created_at FLOAT NOT NULL,
                expires_at FLOAT NOT NULL,
                decided_at FLOAT,
                decided_by VARCHAR,
                code_hash VARCHAR(64) UNIQUE,
                code_expires_at FLOAT,
                consumed_at FLOAT,
                family_id VARCHAR(32)
            )""",
            "CREATE INDEX ix_oauth_authorizations_client_id ON oauth_authorizations(client_id)",
            """CREATE TABLE oauth_families (
                family_id VARCHAR(32) PRIMARY KEY NOT NULL REFERENCES families(id),
                client_id VARCHAR(64) NOT NULL,
                authorization_id VARCHAR(64) NOT NULL,
                created_at FLOAT NOT NULL
            )""",
            "CREATE INDEX ix_oauth_families_client_id ON oauth_families(client_id)",
        ],
    ),
]
SCHEMA_VERSION = _MIGRATIONS[-1][0]


def _on_connect(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
    cursor = dbapi_connection.cursor()
    cursor.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA journal_mode = WAL")
    cursor.execute("PRAGMA synchronous = NORMAL")
    cursor.execute("PRAGMA foreign_keys = ON")
    cursor.close()


def _on_begin(conn: Connection) -> None:
    # Reads take a deferred (shared) transaction; writes take the write lock up front.
    readonly = conn.get_execution_options().get("readonly", False)
    conn.exec_driver_sql("BEGIN" if readonly else "BEGIN IMMEDIATE")


class Database:
    """Owns the engine for one SQLite file."""

    def __init__(self, path: Path) -> None:
        self.path = path
        ensure_private_dir(path.parent)
        if not path.exists():
            fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
            os.close(fd)
        self.engine: Engine = create_engine(
            f"sqlite:///{path}",
            connect_args={"check_same_thread": False, "timeout": BUSY_TIMEOUT_MS / 1000},
        )
        event.listen(self.engine, "connect", _on_connect)
        event.listen(self.engine, "begin", _on_begin)
        try:
            self.migrate()
        except (sqlite3.DatabaseError, sa_exc.DatabaseError) as exc:
            # SQLAlchemy wraps driver errors (e.g. "file is not a database") in its own DatabaseError.
            self.engine.dispose()
            reason = exc.orig if isinstance(exc, sa_exc.DatabaseError) else exc
            raise StoreError(f"cannot open the token store {path}: {reason}") from None
        self.repair_modes()
        self.read_engine: Engine = self.engine.execution_options(readonly=True)

    def repair_modes(self) -> None:
        for suffix in ("", "-wal", "-shm"):
            ensure_private_file(Path(f"{self.path}{suffix}"))

    def schema_version(self, conn: Connection) -> int:
        conn.exec_driver_sql("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
        row = conn.exec_driver_sql("SELECT MAX(version) FROM schema_version").first()
        return int(row[0]) if row and row[0] is not None else 0

    def migrate(self) -> int:
        with self.engine.begin() as conn:
            current = self.schema_version(conn)
            if current > SCHEMA_VERSION:
                raise SchemaTooNewError(
                    f"the token store {self.path} has schema version {current}, newer than this agent-auth "
                    f"understands ({SCHEMA_VERSION}); upgrade agent-auth"
                )
            for version, statements in _MIGRATIONS:
                if version <= current:
                    continue
                for statement in statements:
                    conn.exec_driver_sql(statement)
                conn.exec_driver_sql("INSERT INTO schema_version (version) VALUES (?)", (version,))
        return SCHEMA_VERSION

    def checkpoint(self) -> None:
        # A checkpoint cannot run inside a transaction, and every SQLAlchemy connection begins one
        # (see _on_begin), so use the driver connection directly (it is in autocommit mode).
        raw = self.engine.raw_connection()
        try:
            raw.driver_connection.execute("PRAGMA wal_checkpoint(TRUNCATE)").close()  # type: ignore[union-attr]
        finally:
            raw.close()

    def integrity_check(self) -> str:
        with self.engine.connect() as conn:
            row = conn.exec_driver_sql("PRAGMA integrity_check").first()
            conn.rollback()
            return str(row[0]) if row else "no result"

    def dispose(self) -> None:
        self.engine.dispose()
