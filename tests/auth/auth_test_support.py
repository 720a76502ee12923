"""Helpers shared by the auth tests (imported by module name: pytest puts this directory on sys.path)."""

from __future__ import annotations

from auth.authority import Authority


def close_authority(authority: Authority) -> None:
    """Release the audit file descriptor and the database connections of an authority."""
    authority.audit.close()
    authority.db.dispose()
