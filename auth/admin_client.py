"""Client of the daemon's admin API (JSON Lines over a unix socket). Used by the CLI and the TUI.

Requests are ``{"id": n, "method": "...", "params": {...}}``; each gets ``{"id": n, "result": ...}`` or
``{"id": n, "error": {"code": "...", "message": "..."}}``. After ``subscribe`` the server also sends
events ``{"event": "approval.created" | "approval.decided" | "audit", "data": {...}}`` on that connection.
See docs/admin-api.md.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import stat
import struct
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import anyio
from anyio.abc import SocketAttribute, SocketStream
from anyio.streams.buffered import BufferedByteReceiveStream

from auth.admin_errors import AdminError, DaemonUnavailableError

__all__ = [
    "MAX_LINE_BYTES",
    "AdminConnection",
    "AdminError",
    "DaemonUnavailableError",
    "call_once",
    "check_peer_owner",
    "check_socket_owner",
    "daemon_running",
]

MAX_LINE_BYTES = 4 * 1024 * 1024


def check_socket_owner(path: Path) -> None:
    """Refuse an admin socket that another user could have put there: the socket and its directory must
    belong to this uid and the directory must be private (0700). A shared ``XDG_RUNTIME_DIR`` would
    otherwise let another user pose as the daemon and collect approvals and new tokens."""
    info = os.lstat(path)  # FileNotFoundError: the daemon is not running
    parent = os.stat(path.parent)
    uid = os.getuid()
    if not stat.S_ISSOCK(info.st_mode) or info.st_uid != uid:
        raise AdminError(
            "admin_socket_untrusted", f"{path} is not a socket owned by you (uid {uid}); refusing to talk to it"
        )
    if parent.st_uid != uid or stat.S_IMODE(parent.st_mode) & 0o077:
        raise AdminError(
            "admin_socket_untrusted",
            f"the directory of {path} is not private to you (want owner uid {uid}, mode 0700); refusing to use it",
        )


def check_peer_owner(sock: socket.socket, path: Path) -> None:
    """Where the platform tells (Linux), the process listening must run as this uid too."""
    option = getattr(socket, "SO_PEERCRED", None)
    if option is None:
        return
    creds = sock.getsockopt(socket.SOL_SOCKET, option, struct.calcsize("3i"))
    _pid, peer_uid, _gid = struct.unpack("3i", creds)
    if peer_uid != os.getuid():
        raise AdminError("admin_socket_untrusted", f"the process serving {path} runs as uid {peer_uid}, not you")


def daemon_running(path: Path) -> bool:
    """True when something accepts connections on the admin socket (a quick, blocking probe)."""
    if not path.exists():
        return False
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    probe.settimeout(0.5)
    try:
        probe.connect(str(path))
    except OSError:
        return False
    finally:
        probe.close()
    return True


class AdminConnection:
    """One connection; requests are sequential. Use :meth:`events` after ``subscribe``."""

    def __init__(self, stream: SocketStream) -> None:
        self._stream = stream
        self._reader = BufferedByteReceiveStream(stream)
        self._next_id = 0
        self._lock = anyio.Lock()
        self._queued_events: list[dict[str, Any]] = []

    @classmethod
    async def connect(cls, path: Path) -> AdminConnection:
        try:
            check_socket_owner(path)
            stream = await anyio.connect_unix(str(path))
        except (OSError, FileNotFoundError) as exc:
            raise DaemonUnavailableError(path, exc.strerror or str(exc)) from None
        try:
            check_peer_owner(stream.extra(SocketAttribute.raw_socket), path)
        except AdminError:
            await stream.aclose()
            raise
        return cls(stream)

    async def _read_message(self) -> dict[str, Any]:
        try:
            line = await self._reader.receive_until(b"\n", MAX_LINE_BYTES)
        except (anyio.EndOfStream, anyio.IncompleteRead, anyio.BrokenResourceError, anyio.ClosedResourceError):
            raise AdminError("daemon_unavailable", "the daemon closed the admin connection") from None
        message = json.loads(line)
        if not isinstance(message, dict):
            raise AdminError("protocol_error", "the daemon sent a malformed message")
        return message

    async def call(self, method: str, **params: Any) -> Any:
        async with self._lock:
            self._next_id += 1
            request_id = self._next_id
            data = json.dumps({"id": request_id, "method": method, "params": params}).encode() + b"\n"
            try:
                await self._stream.send(data)
            except (anyio.BrokenResourceError, anyio.ClosedResourceError, OSError):
                raise AdminError("daemon_unavailable", "the daemon closed the admin connection") from None
            while True:
                message = await self._read_message()
                if "event" in message:
                    self._queued_events.append(message)
                    continue
                if message.get("id") is None and "error" in message:
                    # A connection-level refusal (peer_refused, request_too_large, …) answers no request id.
                    error = message["error"] or {}
                    raise AdminError(str(error.get("code", "error")), str(error.get("message", "error")))
                if message.get("id") != request_id:
                    continue
                if "error" in message:
                    error = message["error"] or {}
                    raise AdminError(str(error.get("code", "error")), str(error.get("message", "error")))
                return message.get("result")

    async def events(self) -> AsyncIterator[dict[str, Any]]:
        """Yield events after ``subscribe`` (do not interleave with :meth:`call` on this connection)."""
        while self._queued_events:
            yield self._queued_events.pop(0)
        while True:
            message = await self._read_message()
            if "event" in message:
                yield message

    async def aclose(self) -> None:
        with contextlib.suppress(Exception):
            await self._stream.aclose()

    async def __aenter__(self) -> AdminConnection:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()


async def call_once(path: Path, method: str, **params: Any) -> Any:
    """Open a connection, make one call, close."""
    conn = await AdminConnection.connect(path)
    async with conn:
        return await conn.call(method, **params)
