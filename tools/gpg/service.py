"""The GPG tool's domain service: list allowed keys, sign git payloads, verify signatures.

:class:`GpgService` composes a runner (gpg), the policy (allowlist and payload rules) and a
passphrase source. It holds no authorization logic: the gate in front of it decides whether a call
may run at all, typically after showing :meth:`GpgService.prepare_sign`'s summary to a human.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from tools.gpg.errors import PayloadTooLargeError
from tools.gpg.keys import GpgKey
from tools.gpg.passphrase import NoPassphrases, PassphraseSource
from tools.gpg.payload import PayloadSummary
from tools.gpg.policy import CheckedPayload, GpgPolicy, ResolvedKey, validate_key_spec
from tools.gpg.runner import Notation, RawSignature, RawVerification
from tools.gpg.summary import summarize_sign

__all__ = ["GpgRunnerProtocol", "GpgService", "SignPlan", "SignResult", "VerifyResult"]

MAX_SIGNATURE_BYTES = 64 * 1024


class GpgRunnerProtocol(Protocol):
    """What the service needs from :class:`tools.gpg.runner.GpgRunner` (tests may fake it)."""

    def list_secret_keys(self) -> list[GpgKey]: ...

    def sign_detached(
        self,
        fingerprint: str,
        payload: bytes,
        *,
        passphrase: bytes | None = None,
        notations: Sequence[Notation] = (),
    ) -> RawSignature: ...

    def verify_detached(self, signature: bytes, payload: bytes, *, keyid_format: str = "long") -> RawVerification: ...


@dataclass(frozen=True)
class SignPlan:
    """A checked signing request, ready for approval. ``summary`` is the one-line prompt text."""

    key: ResolvedKey
    payload: bytes
    checked: CheckedPayload
    summary: str

    @property
    def fingerprint(self) -> str:
        return self.key.fingerprint

    @property
    def payload_sha256(self) -> str:
        return self.checked.sha256

    def __repr__(self) -> str:
        return f"SignPlan({self.summary!r}, sha256={self.checked.sha256})"


@dataclass(frozen=True)
class SignResult:
    """A detached ASCII-armored signature and what the audit log and git need to know about it."""

    signature: bytes
    status_lines: tuple[str, ...]
    fingerprint: str
    payload_sha256: str
    summary: str
    payload_summary: PayloadSummary | None
    created_timestamp: int


@dataclass(frozen=True)
class VerifyResult:
    """gpg's verdict on a detached signature. ``exit_code`` is gpg's (0 good, 1 bad, 2 error)."""

    valid: bool
    verdict: str | None
    exit_code: int
    status_lines: tuple[str, ...]
    fingerprint: str
    key_id: str
    user_id: str
    trust: str
    payload_sha256: str


class GpgService:
    """Sign and verify with the keys the policy allows, using the runner's GNUPGHOME."""

    def __init__(
        self,
        runner: GpgRunnerProtocol,
        policy: GpgPolicy,
        passphrases: PassphraseSource | None = None,
    ) -> None:
        self._runner = runner
        self._policy = policy
        self._passphrases: PassphraseSource = passphrases if passphrases is not None else NoPassphrases()

    @property
    def policy(self) -> GpgPolicy:
        return self._policy

    def list_keys(self) -> list[GpgKey]:
        """The secret keys in the GNUPGHOME that own at least one allowed fingerprint."""
        return self._policy.allowed_keys(self._runner.list_secret_keys())

    def prepare_sign(self, key: str, payload: bytes) -> SignPlan:
        """Check key and payload without signing; raises the error a :meth:`sign` would raise."""
        key = validate_key_spec(key)
        checked = self._policy.check_payload(payload)
        resolved = self._policy.resolve_key(key, self._runner.list_secret_keys())
        summary = summarize_sign(
            checked.summary,
            resolved.fingerprint,
            key=resolved.key,
            size_bytes=checked.size_bytes,
            sha256=checked.sha256,
        )
        return SignPlan(key=resolved, payload=payload, checked=checked, summary=summary)

    def sign(self, key: str, payload: bytes, *, notations: Sequence[Notation] = ()) -> SignResult:
        """Check, then make a detached armored signature with exactly the resolved key."""
        return self.sign_plan(self.prepare_sign(key, payload), notations=notations)

    def sign_plan(self, plan: SignPlan, *, notations: Sequence[Notation] = ()) -> SignResult:
        """Sign a plan from :meth:`prepare_sign` (e.g. after a human approved its summary)."""
        raw = self._runner.sign_detached(
            plan.fingerprint,
            plan.payload,
            passphrase=self._passphrases.passphrase_for(plan.fingerprint),
            notations=notations,
        )
        return SignResult(
            signature=raw.signature,
            status_lines=tuple(line.text for line in raw.status),
            fingerprint=raw.sig_created.fingerprint,
            payload_sha256=plan.payload_sha256,
            summary=plan.summary,
            payload_summary=plan.checked.summary,
            created_timestamp=raw.sig_created.timestamp,
        )

    def verify(self, signature: bytes, payload: bytes, *, keyid_format: str = "long") -> VerifyResult:
        """Verify a detached signature over ``payload``; a bad signature is a result, not an error."""
        if len(payload) > self._policy.max_payload_bytes:
            raise PayloadTooLargeError(
                f"the payload is {len(payload)} bytes, above the {self._policy.max_payload_bytes}-byte limit"
            )
        if len(signature) > MAX_SIGNATURE_BYTES:
            raise PayloadTooLargeError(
                f"the signature is {len(signature)} bytes, above the {MAX_SIGNATURE_BYTES}-byte limit"
            )
        raw = self._runner.verify_detached(signature, payload, keyid_format=keyid_format)
        outcome = raw.outcome
        return VerifyResult(
            valid=raw.exit_code == 0 and outcome.is_good,
            verdict=outcome.verdict,
            exit_code=raw.exit_code,
            status_lines=tuple(line.text for line in raw.status),
            fingerprint=outcome.fingerprint,
            key_id=outcome.key_id,
            user_id=outcome.user_id,
            trust=outcome.trust,
            payload_sha256=hashlib.sha256(payload).hexdigest(),
        )
