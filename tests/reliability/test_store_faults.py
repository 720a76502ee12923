"""A token database that cannot be written: writes fail closed with 503 ``store_unavailable``, then recover.

Two faults, injected at the engine's connections while the daemon runs (the suite may run as root, where a
``chmod`` restricts nothing, and the daemon keeps its connections open anyway):

- **read-only** — real SQLite: every connection checked out of the pool gets ``PRAGMA query_only = ON``,
  so SQLite itself refuses each write with "attempt to write a readonly database".
- **disk full** — simulated: a ``before_cursor_execute`` hook raises ``sqlite3.OperationalError("database
  or disk is full")`` for ``INSERT``/``UPDATE``/``DELETE`` (inside an open transaction, so the rollback
  path runs too), the error SQLite gives when it cannot grow the file.

Either way a refresh or a creation is refused, nothing is issued or consumed, reads (validating an existing
access token) keep working, the daemon stays up, and everything works again once writes do.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import anyio
import httpx2
import pytest
import sqlalchemy.exc
from sqlalchemy import event
from sqlalchemy.engine import Engine

from auth.admin_client import AdminConnection, AdminError
from tests.support.daemon import RunningDaemon

WRITE_PREFIXES = ("INSERT", "UPDATE", "DELETE")


@contextmanager
def unwritable(engine: Engine, fault: str) -> Iterator[list[str]]:
    """While open, writes through ``engine`` fail as ``fault`` (``read_only`` or ``disk_full``)."""
    refused: list[str] = []

    def query_only_on(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
        dbapi_connection.execute("PRAGMA query_only = ON")

    def disk_full(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if statement.lstrip().upper().startswith(WRITE_PREFIXES):
            refused.append(statement.split(None, 1)[0])
            raise sqlite3.OperationalError("database or disk is full")

    if fault == "read_only":
        event.listen(engine, "checkout", query_only_on)
    else:
        event.listen(engine, "before_cursor_execute", disk_full)
    try:
        yield refused
    finally:
        if fault == "read_only":
            event.remove(engine, "checkout", query_only_on)
            # Connections back in the pool still carry the pragma; clear it as a restored mount would.
            engine.dispose()
        else:
            event.remove(engine, "before_cursor_execute", disk_full)


def admin_create(daemon: RunningDaemon) -> dict[str, Any]:
    async def create() -> dict[str, Any]:
        async with await AdminConnection.connect(daemon.admin_socket) as admin:
            result = await admin.call("families.create", scopes={"things:read": "allow"}, label="during-fault")
            assert isinstance(result, dict)
            return result

    return anyio.run(create)


@pytest.mark.parametrize("fault", ["read_only", "disk_full"])
def test_an_unwritable_token_database_refuses_refresh_and_creation_and_recovers(
    full_daemon: RunningDaemon, fault: str
) -> None:
    authority = full_daemon.ctx.authority
    family = full_daemon.create_family({"things:read": "allow"}, label="before-fault")
    families_before = authority.family_count()
    validate = {"token": family.access_token, "required_scope": "things:read"}
    with httpx2.Client(base_url=full_daemon.url, timeout=15) as http:
        with unwritable(authority.db.engine, fault) as refused:
            refresh = http.post("/agent-auth/v1/token/refresh", json={"refresh_token": family.refresh_token})
            with pytest.raises(AdminError) as creation:
                admin_create(full_daemon)
            with pytest.raises((sqlite3.OperationalError, sqlalchemy.exc.OperationalError)):
                full_daemon.create_family({"things:read": "allow"})
            still_valid = http.post("/agent-auth/v1/validate", json=validate)
            assert authority.family_count() == families_before
        assert refresh.status_code == 503, refresh.text
        assert refresh.json()["error"] == "store_unavailable"
        assert "access_token" not in refresh.text
        assert creation.value.code == "store_unavailable"
        assert still_valid.status_code == 200, still_valid.text  # reads need no write
        if fault == "disk_full":
            assert refused, "the fault never fired"

        # Writes work again: the refresh token was not consumed by the refused attempt.
        again = http.post("/agent-auth/v1/token/refresh", json={"refresh_token": family.refresh_token})
        assert again.status_code == 200, again.text
        assert http.post("/agent-auth/v1/validate", json={**validate, "token": again.json()["access_token"]}).is_success
        assert admin_create(full_daemon)["family_id"]
    assert authority.family_count() == families_before + 1
    assert authority.db.integrity_check() == "ok"
