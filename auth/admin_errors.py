"""Errors of the admin API client, importable without anyio (the CLI's start-up path catches them)."""

from __future__ import annotations

from pathlib import Path

__all__ = ["AdminError", "DaemonUnavailableError"]


class AdminError(Exception):
    """An error the daemon reported (``code`` is stable) or a transport failure."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class DaemonUnavailableError(AdminError):
    def __init__(self, path: Path, reason: str) -> None:
        super().__init__(
            "daemon_unavailable",
            f"the agent-auth daemon is not running (no admin socket at {path}: {reason}); "
            "start it with 'agent-auth serve' (or 'agent-auth demo')",
        )
