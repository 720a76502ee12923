"""The TUI's view of approvals: pending requests (newest first) and a short history of outcomes.

Pure data, fed by the daemon's ``approval.created`` / ``approval.decided`` events; no I/O.
"""

from __future__ import annotations

from collections import deque
from typing import Any

HISTORY_SIZE = 20


class ApprovalBook:
    def __init__(self, history_size: int = HISTORY_SIZE) -> None:
        self._pending: dict[str, dict[str, Any]] = {}
        self.history: deque[dict[str, Any]] = deque(maxlen=history_size)

    def reset(self, pending: list[dict[str, Any]], history: list[dict[str, Any]] | None = None) -> None:
        """Replace everything with a fresh snapshot from the daemon (after (re)connecting)."""
        self._pending = {str(a["id"]): a for a in pending}
        if history is not None:
            self.history.clear()
            self.history.extend(history[: self.history.maxlen])

    def created(self, approval: dict[str, Any]) -> bool:
        """Record a new pending request; False if it was already known."""
        approval_id = str(approval["id"])
        known = approval_id in self._pending
        self._pending[approval_id] = approval
        return not known

    def decided(self, approval: dict[str, Any]) -> bool:
        """Move a request to the history; False if this outcome was already recorded."""
        approval_id = str(approval["id"])
        self._pending.pop(approval_id, None)
        if any(h.get("id") == approval_id for h in self.history):
            return False
        self.history.appendleft(approval)
        return True

    def get(self, approval_id: str) -> dict[str, Any] | None:
        return self._pending.get(approval_id)

    def pending(self) -> list[dict[str, Any]]:
        """Pending requests, newest on top."""
        return sorted(self._pending.values(), key=lambda a: float(a.get("requested_at") or 0), reverse=True)

    def __len__(self) -> int:
        return len(self._pending)
