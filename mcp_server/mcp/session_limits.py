"""MCP sessions per token family: one token cannot fill the server's session table and starve the others.

The SDK caps all sessions together (10 000) and expires idle ones; it does not know families. The gate
counts, per family, the sessions the SDK opened for it (the ``mcp-session-id`` of a successful opening
response), pruning the ones the SDK has since ended (DELETE, idle timeout) before each admission.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Container


class SessionLimiter:
    def __init__(self, per_family: int, live_sessions: Callable[[], Container[str]]) -> None:
        self.per_family = per_family
        self._live_sessions = live_sessions
        self._lock = threading.Lock()
        self._by_family: dict[str, set[str]] = {}
        self._opening: dict[str, int] = {}

    def try_open(self, family_id: str) -> bool:
        """Reserve room for one new session of ``family_id``; False when the family is at its cap."""
        live = self._live_sessions()
        with self._lock:
            sessions = {session for session in self._by_family.get(family_id, ()) if session in live}
            if sessions:
                self._by_family[family_id] = sessions
            else:
                self._by_family.pop(family_id, None)
            if len(sessions) + self._opening.get(family_id, 0) >= self.per_family:
                return False
            self._opening[family_id] = self._opening.get(family_id, 0) + 1
            return True

    def opened(self, family_id: str, session_id: str | None) -> None:
        """End a reservation: record the session the SDK opened (None if the opening request failed)."""
        with self._lock:
            left = self._opening.get(family_id, 1) - 1
            if left > 0:
                self._opening[family_id] = left
            else:
                self._opening.pop(family_id, None)
            if session_id is not None:
                self._by_family.setdefault(family_id, set()).add(session_id)

    def count(self, family_id: str) -> int:
        with self._lock:
            return len(self._by_family.get(family_id, ()))
