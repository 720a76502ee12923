"""Where the daemon keeps GPG signing passphrases: the OS keyring, or an explicit 0600 file.

The keyring holds one entry per key under service ``agent-auth-gpg`` (user name = the full, upper-case
fingerprint), plus an index entry listing the fingerprints, because keyring backends cannot enumerate.
Where no keyring backend exists, the passphrases live in ``<config_dir>/gpg/passphrases.json`` (0600 in
a 0700 directory) — the same choice, and the same ``key_store`` setting, as the daemon's own keys
(:mod:`auth.keys`). Both stores implement :class:`tools.gpg.passphrase.PassphraseSource`.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any, Protocol

from auth.fsutil import ensure_private_dir, ensure_private_file, write_private_file
from auth.keychain_status import explain_keyring_failure
from auth.keyring_probe import real_keyring_backend
from auth.keys import KeyStoreKind
from mcp_server.errors import AgentAuthError
from tools.gpg.errors import PassphraseUnavailableError

log = logging.getLogger(__name__)

KEYRING_SERVICE = "agent-auth-gpg"
INDEX_ENTRY = "index"
PASSPHRASE_FILE = Path("gpg") / "passphrases.json"

FILE_FALLBACK_WARNING = (
    "no OS keyring backend is available; GPG passphrases are kept in the 0600 file %s. Install a keyring "
    "backend or set key_store=file to silence this warning."
)


class PassphraseStoreError(AgentAuthError):
    """The passphrase store cannot be read or written; ``code`` is stable."""

    def __init__(self, message: str, code: str = "passphrase_store_unavailable") -> None:
        super().__init__(message)
        self.message = message
        self.code = code


class PassphraseStore(Protocol):
    description: str

    def passphrase_for(self, fingerprint: str) -> bytes | None: ...

    def set(self, fingerprint: str, passphrase: str) -> None: ...

    def clear(self, fingerprint: str) -> bool: ...

    def fingerprints(self) -> list[str]: ...


class KeyringPassphrases:
    """Passphrases in the OS keyring, one entry per fingerprint."""

    def __init__(self, backend: Any) -> None:
        self._backend = backend
        self.description = f"OS keyring ({type(backend).__name__}, service {KEYRING_SERVICE})"

    def __repr__(self) -> str:
        return f"KeyringPassphrases({type(self._backend).__name__})"

    def passphrase_for(self, fingerprint: str) -> bytes | None:
        try:
            text = self._backend.get_password(KEYRING_SERVICE, fingerprint.upper())
        except Exception as exc:  # keyring backends raise anything; say why instead of a later passphrase_required
            reason = explain_keyring_failure(exc)
            log.warning("cannot read the GPG passphrase for %s from the keyring: %s", fingerprint, reason)
            raise PassphraseUnavailableError(
                f"the stored passphrase for {fingerprint} could not be read from the keyring: {reason}"
            ) from None
        return None if text is None else str(text).encode("utf-8")

    def set(self, fingerprint: str, passphrase: str) -> None:
        fingerprint = fingerprint.upper()
        try:
            self._backend.set_password(KEYRING_SERVICE, fingerprint, passphrase)
            self._write_index(sorted({*self.fingerprints(), fingerprint}))
        except PassphraseStoreError:
            raise
        except Exception as exc:  # see passphrase_for
            raise PassphraseStoreError(f"the keyring could not be written: {explain_keyring_failure(exc)}") from None

    def clear(self, fingerprint: str) -> bool:
        fingerprint = fingerprint.upper()
        known = self.fingerprints()
        try:
            self._backend.delete_password(KEYRING_SERVICE, fingerprint)
            removed = True
        except Exception:  # keyring's PasswordDeleteError and friends: nothing was stored
            removed = False
        if fingerprint in known:
            self._write_index([f for f in known if f != fingerprint])
            removed = True
        return removed

    def fingerprints(self) -> list[str]:
        try:
            text = self._backend.get_password(KEYRING_SERVICE, INDEX_ENTRY)
        except Exception as exc:  # see passphrase_for
            raise PassphraseStoreError(f"the keyring could not be read: {explain_keyring_failure(exc)}") from None
        try:
            data = json.loads(text) if text else []
        except ValueError:
            data = []
        return sorted(str(f) for f in data) if isinstance(data, list) else []

    def _write_index(self, fingerprints: list[str]) -> None:
        self._backend.set_password(KEYRING_SERVICE, INDEX_ENTRY, json.dumps(fingerprints))


class FilePassphrases:
    """Passphrases in a 0600 JSON file inside a 0700 directory of its own."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.description = f"passphrase file {path}"

    def __repr__(self) -> str:
        return f"FilePassphrases({str(self.path)!r})"

    def _load(self) -> dict[str, str]:
        try:
            ensure_private_file(self.path)
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as exc:
            raise PassphraseStoreError(f"cannot read the passphrase file {self.path}: {exc}") from None
        if not isinstance(data, dict):
            raise PassphraseStoreError(f"the passphrase file {self.path} is not a JSON object; remove it")
        return {str(k).upper(): str(v) for k, v in data.items()}

    def _save(self, data: dict[str, str]) -> None:
        try:
            ensure_private_dir(self.path.parent)
            write_private_file(self.path, json.dumps(data, sort_keys=True).encode("utf-8"))
        except OSError as exc:
            raise PassphraseStoreError(f"cannot write the passphrase file {self.path}: {exc}") from None

    def passphrase_for(self, fingerprint: str) -> bytes | None:
        try:
            text = self._load().get(fingerprint.upper())
        except PassphraseStoreError as exc:
            log.warning("%s", exc.message)
            return None
        return None if text is None else text.encode("utf-8")

    def set(self, fingerprint: str, passphrase: str) -> None:
        data = self._load()
        data[fingerprint.upper()] = passphrase
        self._save(data)

    def clear(self, fingerprint: str) -> bool:
        data = self._load()
        if data.pop(fingerprint.upper(), None) is None:
            return False
        self._save(data)
        return True

    def fingerprints(self) -> list[str]:
        return sorted(self._load())


def select_passphrase_store(kind: KeyStoreKind, config_dir: Path, backend: Any | None = None) -> PassphraseStore:
    """The store for a ``key_store`` setting: keyring when available, else the 0600 file (with a warning)."""
    path = config_dir / PASSPHRASE_FILE
    if kind is KeyStoreKind.FILE:
        return FilePassphrases(path)
    found = backend if backend is not None else real_keyring_backend()
    if found is not None:
        return KeyringPassphrases(found)
    if kind is KeyStoreKind.KEYRING:
        raise PassphraseStoreError(
            "key_store=keyring but no OS keyring backend is available for GPG passphrases; install one or "
            "set AGENT_AUTH_KEY_STORE=file",
            code="keyring_unavailable",
        )
    log.warning(FILE_FALLBACK_WARNING, path)
    return FilePassphrases(path)
