"""Key material and where it lives.

Three independent 32-byte keys: ``signing`` (token HMACs), ``encryption`` (field encryption, by key id)
and ``audit`` (the audit log's HMAC chain). They live in the OS keyring under service ``agent-auth``;
where no keyring backend exists, an explicit 0600 key file in its own 0700 directory may be used instead.
"""

from __future__ import annotations

import base64
import contextlib
import enum
import hmac
import json
import logging
import os
import secrets
from dataclasses import dataclass, field
from hashlib import sha256
from pathlib import Path
from typing import Any, Protocol

from auth.errors import KeyringUnavailableError, KeyStoreError
from auth.fsutil import ensure_private_dir, write_private_file
from auth.keychain_status import explain_keyring_failure
from auth.keyring_probe import real_keyring_backend

log = logging.getLogger(__name__)

KEYRING_SERVICE = "agent-auth"
KEYRING_ENTRY = "keys-v1"
KEY_BYTES = 32


class KeyStoreKind(enum.StrEnum):
    AUTO = "auto"
    KEYRING = "keyring"
    FILE = "file"


@dataclass(frozen=True)
class KeyMaterial:
    signing: bytes = field(repr=False)
    encryption: dict[int, bytes] = field(repr=False)
    audit: bytes = field(repr=False)

    @classmethod
    def generate(cls) -> KeyMaterial:
        return cls(
            signing=secrets.token_bytes(KEY_BYTES),
            encryption={1: secrets.token_bytes(KEY_BYTES)},
            audit=secrets.token_bytes(KEY_BYTES),
        )

    @property
    def current_encryption_key_id(self) -> int:
        return max(self.encryption)

    def fingerprint(self) -> str:
        """A check value that identifies these keys without revealing them (stored beside the data)."""
        mac = hmac.new(self.signing, b"agent-auth key check v1", sha256)
        mac.update(self.audit)
        for key_id in sorted(self.encryption):
            mac.update(key_id.to_bytes(4, "big") + self.encryption[key_id])
        return mac.hexdigest()[:32]

    def to_json(self) -> str:
        b64 = base64.b64encode
        return json.dumps(
            {
                "version": 1,
                "signing": b64(self.signing).decode(),
                "audit": b64(self.audit).decode(),
                "encryption": {str(k): b64(v).decode() for k, v in self.encryption.items()},
            }
        )

    @classmethod
    def from_json(cls, text: str) -> KeyMaterial:
        try:
            data: dict[str, Any] = json.loads(text)
            b64d = base64.b64decode
            material = cls(
                signing=b64d(data["signing"], validate=True),
                audit=b64d(data["audit"], validate=True),
                encryption={int(k): b64d(v, validate=True) for k, v in data["encryption"].items()},
            )
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise KeyStoreError("stored key material is corrupt", detail=str(exc)) from None
        keys = [material.signing, material.audit, *material.encryption.values()]
        if not material.encryption or any(len(k) != KEY_BYTES for k in keys):
            raise KeyStoreError("stored key material is corrupt", detail="wrong key length")
        return material


class KeyStore(Protocol):
    """Somewhere key material can be loaded from and saved to."""

    description: str

    def load(self) -> KeyMaterial | None: ...

    def save(self, material: KeyMaterial) -> None: ...

    def delete(self) -> None: ...


class FileKeyStore:
    """Keys in a 0600 JSON file inside a 0700 directory of its own."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.description = f"key file {path}"

    def load(self) -> KeyMaterial | None:
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise KeyStoreError(f"cannot read the key file {self.path}: {exc.strerror}") from None
        with contextlib.suppress(OSError):
            if self.path.stat().st_mode & 0o077:
                os.chmod(self.path, 0o600)
                log.warning("repaired permissions of %s to 0600", self.path)
        return KeyMaterial.from_json(text)

    def save(self, material: KeyMaterial) -> None:
        ensure_private_dir(self.path.parent)
        write_private_file(self.path, material.to_json().encode())

    def delete(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()


class KeyringKeyStore:
    """Keys in the OS keyring (service ``agent-auth``)."""

    def __init__(self, backend: Any) -> None:
        self._backend = backend
        self.description = f"OS keyring ({type(backend).__name__})"

    def load(self) -> KeyMaterial | None:
        try:
            text = self._backend.get_password(KEYRING_SERVICE, KEYRING_ENTRY)
        except Exception as exc:  # keyring backends raise anything; fail closed with the reason
            raise KeyStoreError(f"the keyring could not be read: {explain_keyring_failure(exc)}") from None
        return None if text is None else KeyMaterial.from_json(text)

    def save(self, material: KeyMaterial) -> None:
        try:
            self._backend.set_password(KEYRING_SERVICE, KEYRING_ENTRY, material.to_json())
        except Exception as exc:  # see load()
            raise KeyStoreError(f"the keyring could not be written: {explain_keyring_failure(exc)}") from None

    def delete(self) -> None:
        try:
            self._backend.delete_password(KEYRING_SERVICE, KEYRING_ENTRY)
        except Exception as exc:  # see load()
            log.debug("keyring delete: %s", exc)


FILE_FALLBACK_WARNING = (
    "no OS keyring backend is available; keys are kept in the 0600 file %s. Anyone who can read your files "
    "(or a backup of them) can mint tokens. Install a keyring backend (e.g. gnome-keyring or KWallet with "
    "the secretstorage package) or set key_store=file to silence this warning."
)


def select_key_store(kind: KeyStoreKind, key_file: Path, backend: Any | None = None) -> KeyStore:
    """Choose the key store for a ``key_store`` setting."""
    if kind is KeyStoreKind.FILE:
        return FileKeyStore(key_file)
    found = backend if backend is not None else real_keyring_backend()
    if found is not None:
        return KeyringKeyStore(found)
    if kind is KeyStoreKind.KEYRING:
        raise KeyringUnavailableError(
            "key_store=keyring but no OS keyring backend is available. Install one (for example "
            "gnome-keyring with 'pip install secretstorage', or KWallet), or set AGENT_AUTH_KEY_STORE=file "
            "to keep keys in a 0600 file."
        )
    log.warning(FILE_FALLBACK_WARNING, key_file)
    return FileKeyStore(key_file)
