"""Which keys may sign, and which payloads they may sign.

The allowlist holds full fingerprints only (40 hex for v4 keys, 64 for v5/v6), compared upper-case.
Each entry names the exact (sub)key gpg will sign with (``-u FPR!``).

A request names its key in one of three ways:

* a full fingerprint (optional ``0x`` prefix and trailing ``!``): must be on the allowlist;
* a long (16-hex) key id: resolved only if it is *exactly* the key id of one allowed key;
* a user id such as ``Name <mail@example.org>`` (git's default when ``user.signingkey`` is unset):
  resolved only if it is *exactly* equal to a user id of one allowed key.

Short (8-hex) key ids, other hex lengths (fingerprint suffixes), e-mail fragments and substrings are
never resolved: they collide easily and would let a look-alike key sign. Anything that could be read
by gpg as an option or break a line (leading ``-``, control characters) is refused before any
subprocess runs.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from tools.gpg.errors import (
    AmbiguousKeyError,
    InvalidKeySpecError,
    KeyNotAllowedError,
    NoSuchKeyError,
    PayloadNotGitObjectError,
    PayloadTooLargeError,
    ShortKeyIdError,
)
from tools.gpg.keys import GpgKey
from tools.gpg.payload import PayloadSummary, parse_git_payload

__all__ = [
    "DEFAULT_MAX_PAYLOAD_BYTES",
    "CheckedPayload",
    "GpgPolicy",
    "ResolvedKey",
    "normalize_fingerprint",
    "validate_key_spec",
]

DEFAULT_MAX_PAYLOAD_BYTES = 64 * 1024
_MAX_KEY_SPEC_CHARS = 256
_HEX = re.compile(r"\A[0-9A-Fa-f]+\Z")
_FINGERPRINT_LENGTHS = (40, 64)
_LONG_KEY_ID_LENGTH = 16


@dataclass(frozen=True)
class ResolvedKey:
    """The allowed key a request resolved to: ``fingerprint`` is what gpg signs with."""

    fingerprint: str
    key: GpgKey

    @property
    def user_id(self) -> str:
        return self.key.primary_user_id


@dataclass(frozen=True)
class CheckedPayload:
    """A payload that passed the policy, with what the approval prompt and the audit log need."""

    summary: PayloadSummary | None
    sha256: str
    size_bytes: int


def _key_id_of(fingerprint: str) -> str:
    # v4 key ids are the low 64 bits of the fingerprint; v5/v6 use the high 64 bits.
    return fingerprint[-16:] if len(fingerprint) == 40 else fingerprint[:16]


def _strip_hex_decoration(spec: str) -> str:
    text = spec[:-1] if spec.endswith("!") else spec
    return text[2:] if text[:2] in ("0x", "0X") else text


def normalize_fingerprint(text: str) -> str:
    """Return ``text`` as an upper-case full fingerprint, or raise :class:`ShortKeyIdError`."""
    candidate = _strip_hex_decoration(text.strip().replace(" ", ""))
    if not _HEX.match(candidate) or len(candidate) not in _FINGERPRINT_LENGTHS:
        raise ShortKeyIdError(
            f"{text[:80]!r} is not a full key fingerprint; use the 40- or 64-hex fingerprint shown by "
            "`gpg --list-secret-keys --with-colons` (fpr lines)"
        )
    return candidate.upper()


def validate_key_spec(spec: object) -> str:
    """Refuse a key name that could inject into gpg's argv or status stream; return it stripped."""
    if not isinstance(spec, str) or not spec.strip():
        raise InvalidKeySpecError("the signing key must be a non-empty string (a fingerprint or user id)")
    if len(spec) > _MAX_KEY_SPEC_CHARS:
        raise InvalidKeySpecError(f"the signing key name is longer than {_MAX_KEY_SPEC_CHARS} characters")
    if any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in spec):
        raise InvalidKeySpecError("the signing key name contains control characters (NUL, newline, ...)")
    stripped = spec.strip()
    if stripped.startswith("-"):
        raise InvalidKeySpecError("the signing key name must not start with '-' (it would read as an option)")
    return stripped


class GpgPolicy:
    """The signing allowlist and payload rules. Immutable after construction."""

    def __init__(
        self,
        allowed_fingerprints: Iterable[str],
        *,
        max_payload_bytes: int = DEFAULT_MAX_PAYLOAD_BYTES,
        require_git_payload: bool = True,
    ) -> None:
        self.allowed_fingerprints = frozenset(normalize_fingerprint(f) for f in allowed_fingerprints)
        self.max_payload_bytes = max_payload_bytes
        self.require_git_payload = require_git_payload

    def __repr__(self) -> str:
        return (
            f"GpgPolicy({len(self.allowed_fingerprints)} allowed keys, "
            f"max_payload_bytes={self.max_payload_bytes}, require_git_payload={self.require_git_payload})"
        )

    def allowed_keys(self, keys: Sequence[GpgKey]) -> list[GpgKey]:
        """The keys among ``keys`` that own at least one allowed (sub)key fingerprint."""
        return [key for key in keys if self._allowed_fingerprints_of(key)]

    def check_payload(self, payload: bytes) -> CheckedPayload:
        """Enforce size, NUL-freeness and (by default) the git object grammar."""
        if len(payload) > self.max_payload_bytes:
            raise PayloadTooLargeError(
                f"the payload is {len(payload)} bytes, above the {self.max_payload_bytes}-byte limit; "
                "git commits and tags are normally far smaller"
            )
        if b"\x00" in payload:
            raise PayloadNotGitObjectError("the payload contains a NUL byte; git never asks to sign one")
        summary = parse_git_payload(payload) if self.require_git_payload else None
        return CheckedPayload(
            summary=summary,
            sha256=hashlib.sha256(payload).hexdigest(),
            size_bytes=len(payload),
        )

    def resolve_key(self, spec: object, keys: Sequence[GpgKey]) -> ResolvedKey:
        """Resolve a request's key name to one allowed fingerprint present among ``keys``."""
        text = validate_key_spec(spec)
        if not self.allowed_fingerprints:
            raise KeyNotAllowedError(
                "the signing allowlist is empty, so every key is refused; the host user adds full "
                "fingerprints to gpg_allowed_keys (or AGENT_AUTH_GPG_ALLOWED_KEYS)"
            )
        candidate = _strip_hex_decoration(text)
        if _HEX.match(candidate):
            if len(candidate) in _FINGERPRINT_LENGTHS:
                return self._by_fingerprint(candidate.upper(), keys)
            if len(candidate) == _LONG_KEY_ID_LENGTH:
                return self._unique(text, self._by_key_id(candidate.upper(), keys))
            raise ShortKeyIdError(
                f"{text!r} is a short key id or fingerprint fragment; keys are named by full fingerprint "
                "only (git config user.signingkey <40-hex fingerprint>)"
            )
        return self._unique(text, self._by_user_id(text, keys))

    # --- resolution helpers ------------------------------------------------------------------------

    def _allowed_fingerprints_of(self, key: GpgKey) -> list[str]:
        owned = [key.fingerprint, *(sub.fingerprint for sub in key.subkeys)]
        return [fingerprint for fingerprint in owned if fingerprint in self.allowed_fingerprints]

    def _by_fingerprint(self, fingerprint: str, keys: Sequence[GpgKey]) -> ResolvedKey:
        if fingerprint not in self.allowed_fingerprints:
            raise KeyNotAllowedError(
                f"key {fingerprint} is not on the signing allowlist; ask the host user to allow it"
            )
        for key in keys:
            if fingerprint in self._allowed_fingerprints_of(key):
                return ResolvedKey(fingerprint=fingerprint, key=key)
        raise NoSuchKeyError(
            f"key {fingerprint} is allowed but its secret key is not in the signing GNUPGHOME; import it"
        )

    def _by_key_id(self, key_id: str, keys: Sequence[GpgKey]) -> list[ResolvedKey]:
        matches: list[ResolvedKey] = []
        for key in keys:
            for fingerprint in self._allowed_fingerprints_of(key):
                if _key_id_of(fingerprint) == key_id:
                    matches.append(ResolvedKey(fingerprint=fingerprint, key=key))
        return matches

    def _by_user_id(self, user_id: str, keys: Sequence[GpgKey]) -> list[ResolvedKey]:
        matches: list[ResolvedKey] = []
        for key in keys:
            if user_id in key.user_ids:
                matches.extend(ResolvedKey(fingerprint=f, key=key) for f in self._allowed_fingerprints_of(key))
        return matches

    @staticmethod
    def _unique(spec: str, matches: list[ResolvedKey]) -> ResolvedKey:
        if not matches:
            raise KeyNotAllowedError(
                f"{spec[:80]!r} does not exactly match the key id or user id of an allowed key; "
                "set user.signingkey to the full fingerprint of an allowed key"
            )
        if len({match.fingerprint for match in matches}) > 1:
            raise AmbiguousKeyError(
                f"{spec[:80]!r} matches {len(matches)} allowed keys; use the full fingerprint instead"
            )
        return matches[0]
