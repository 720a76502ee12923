"""Is there a real OS keyring? One answer for the daemon's keys and the clients' credentials.

Kept in its own module with only lazy imports: clients that start on every git commit import it.
"""

from __future__ import annotations

from typing import Any


def real_keyring_backend() -> Any | None:
    """The active keyring backend when it is a real one, else ``None`` (a broken install counts as none)."""
    try:
        import keyring
        from keyring.backends import fail

        backend = keyring.get_keyring()
    except Exception:  # a broken keyring install is the same as none
        return None
    if isinstance(backend, fail.Keyring) or getattr(backend, "priority", 0) < 1:
        return None
    chained = getattr(backend, "backends", None)
    if chained is not None and not chained:
        return None
    return backend
