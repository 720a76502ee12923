"""Where signing passphrases come from: a small :class:`PassphraseSource` seam.

The keyring-backed source lives in the composition root; this module offers the protocol plus two
simple sources (none at all, and a fixed mapping for tests and development).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

__all__ = ["NoPassphrases", "PassphraseSource", "StaticPassphrases"]


class PassphraseSource(Protocol):
    """Returns the passphrase for the key with this full, upper-case fingerprint, or ``None``."""

    def passphrase_for(self, fingerprint: str) -> bytes | None: ...


class NoPassphrases:
    """For keys without a passphrase (or an agent that already caches it)."""

    def passphrase_for(self, fingerprint: str) -> bytes | None:
        return None


class StaticPassphrases:
    """A fixed fingerprint → passphrase mapping. Its ``repr`` never shows the secrets."""

    def __init__(self, passphrases: Mapping[str, bytes]) -> None:
        self._passphrases = {fingerprint.upper(): secret for fingerprint, secret in passphrases.items()}

    def passphrase_for(self, fingerprint: str) -> bytes | None:
        return self._passphrases.get(fingerprint.upper())

    def __repr__(self) -> str:
        return f"StaticPassphrases(<{len(self._passphrases)} redacted>)"
