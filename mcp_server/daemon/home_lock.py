"""One daemon per home: an exclusive lock on ``<data_dir>/serve.lock`` held for the daemon's lifetime.

``serve`` and ``demo`` take it before they touch anything (the demo revokes and replaces its family, the
daemon rewrites ``daemon.json`` and the admin socket), so a second one on a served home refuses with the
running daemon's pid and URL instead of breaking the first. ``flock`` ends with the process, so a crashed
daemon never leaves a stale lock behind. The lock is re-entrant within one process (the demo takes it
early, then the daemon it starts takes it again).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
from collections.abc import Iterator
from pathlib import Path

from auth.fsutil import ensure_private_dir
from mcp_server.errors import AgentAuthError

LOCK_NAME = "serve.lock"
_held: dict[str, int] = {}


class HomeBusyError(AgentAuthError):
    code = "already_serving"

    def __init__(self, data_dir: Path, pid: int | None, url: str | None) -> None:
        who = f"process {pid}" if pid else "another process"
        where = f" at {url}" if url else ""
        super().__init__(
            f"agent-auth is already serving this home ({data_dir}): {who}{where}. "
            "Use that daemon, stop it first, or pick another home (AGENT_AUTH_HOME, or demo --home DIR)"
        )
        self.pid = pid
        self.url = url


def _running(data_dir: Path, state_path: Path) -> tuple[int | None, str | None]:
    pid: int | None = None
    url: str | None = None
    with contextlib.suppress(OSError, ValueError):
        pid = int((data_dir / LOCK_NAME).read_text().strip())
    with contextlib.suppress(OSError, ValueError, AttributeError):
        state = json.loads(state_path.read_text())
        url = state.get("url") if isinstance(state.get("url"), str) else None
        pid = int(state.get("pid")) if state.get("pid") else pid
    return pid, url


@contextlib.contextmanager
def serving(data_dir: Path, state_path: Path) -> Iterator[None]:
    """Hold this home's lock (raise :class:`HomeBusyError` when another process holds it)."""
    path = str(data_dir / LOCK_NAME)
    if path in _held:
        yield
        return
    ensure_private_dir(data_dir)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise HomeBusyError(data_dir, *_running(data_dir, state_path)) from None
    os.ftruncate(fd, 0)
    os.write(fd, f"{os.getpid()}\n".encode())
    _held[path] = fd
    try:
        yield
    finally:
        del _held[path]
        os.close(fd)  # closing the only descriptor releases the flock
