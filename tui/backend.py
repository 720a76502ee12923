"""The TUI's only way to the daemon: the admin API, behind a small Protocol so tests can pass another.

``SocketBackend`` wraps :class:`auth.admin_client.AdminConnection`: one short connection per call (cheap
on a unix socket, and it survives daemon restarts without reconnect logic), and a dedicated long-lived
connection for the ``subscribe`` event stream.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, Protocol

from auth.admin_client import AdminConnection, call_once


class Subscription(Protocol):
    """An open event stream: the pending approvals at subscribe time, then events."""

    pending: list[dict[str, Any]]

    def events(self) -> AsyncIterator[dict[str, Any]]: ...


class AdminBackend(Protocol):
    """What the TUI needs from the daemon. Errors are :class:`auth.admin_client.AdminError`."""

    @property
    def address(self) -> str:
        """Where the daemon is reached (shown in the status bar and the daemon-down banner)."""
        ...

    async def call(self, method: str, **params: Any) -> Any: ...

    def subscribe(self, topics: list[str]) -> contextlib.AbstractAsyncContextManager[Subscription]: ...


class _SocketSubscription:
    def __init__(self, conn: AdminConnection, pending: list[dict[str, Any]]) -> None:
        self._conn = conn
        self.pending = pending

    def events(self) -> AsyncIterator[dict[str, Any]]:
        return self._conn.events()


class SocketBackend:
    """The admin API on the daemon's unix socket."""

    def __init__(self, socket_path: Path) -> None:
        self.socket_path = socket_path

    @property
    def address(self) -> str:
        return str(self.socket_path)

    async def call(self, method: str, **params: Any) -> Any:
        return await call_once(self.socket_path, method, **params)

    @contextlib.asynccontextmanager
    async def subscribe(self, topics: list[str]) -> AsyncIterator[Subscription]:
        conn = await AdminConnection.connect(self.socket_path)
        async with conn:
            result = await conn.call("subscribe", topics=topics)
            yield _SocketSubscription(conn, list(result.get("pending") or []))
