"""Helpers shared by the auth tests (imported by module name: pytest puts this directory on sys.path)."""

from __future__ import annotations

from auth.authority import Authority


def close_authority(authority: Authority) -> None:
    """Release the audit file descriptor and the database connections of an authority."""
    authority.audit.close()
    authority.db.dispose()


T0 = 1_800_000_000.0  # a wall-clock start far from any real time


class Clocks:
    """A wall clock and a monotonic clock that move together, only when a test says so."""

    def __init__(self) -> None:
        self.wall = T0
        self.mono = 500.0

    def advance(self, seconds: float) -> None:
        self.wall += seconds
        self.mono += seconds
