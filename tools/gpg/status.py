"""Parsing of gpg's machine-readable ``--status-fd`` output (``[GNUPG:] KEYWORD args...``).

Formats are those of GnuPG's ``doc/DETAILS``; only the keywords this package acts on get a typed
accessor, every line is kept verbatim so it can be relayed to git unchanged.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = [
    "STATUS_PREFIX",
    "SigCreated",
    "StatusLine",
    "VerifyOutcome",
    "find_sig_created",
    "parse_status",
    "summarize_verify",
]

STATUS_PREFIX = "[GNUPG:] "
_FINGERPRINT = re.compile(r"\A(?:[0-9A-F]{40}|[0-9A-F]{64})\Z")
_VERDICTS = ("GOODSIG", "BADSIG", "ERRSIG", "EXPSIG", "EXPKEYSIG", "REVKEYSIG")


@dataclass(frozen=True)
class StatusLine:
    """One status line: ``keyword`` plus its space-separated ``args`` (the raw ``text`` kept)."""

    keyword: str
    args: tuple[str, ...]
    text: str


@dataclass(frozen=True)
class SigCreated:
    """``SIG_CREATED <type> <pk_algo> <hash_algo> <class> <timestamp> <fingerprint>``."""

    signature_type: str
    pubkey_algorithm: int
    hash_algorithm: int
    signature_class: str
    timestamp: int
    fingerprint: str


@dataclass(frozen=True)
class VerifyOutcome:
    """What a verify run said about the (single) signature it checked.

    ``verdict`` is one of GOODSIG/BADSIG/ERRSIG/EXPSIG/EXPKEYSIG/REVKEYSIG, or ``None`` when gpg
    found no signature at all. ``fingerprint`` comes from VALIDSIG (good signatures) or ERRSIG.
    """

    verdict: str | None
    key_id: str
    user_id: str
    fingerprint: str
    primary_fingerprint: str
    trust: str
    error_reason: str

    @property
    def is_good(self) -> bool:
        return self.verdict == "GOODSIG"


def parse_status(text: str) -> list[StatusLine]:
    """Return the status lines of ``text``; lines without the ``[GNUPG:]`` prefix are ignored."""
    lines: list[StatusLine] = []
    for raw in text.splitlines():
        if not raw.startswith(STATUS_PREFIX):
            continue
        rest = raw[len(STATUS_PREFIX) :]
        keyword, _, arg_text = rest.partition(" ")
        if not keyword:
            continue
        lines.append(StatusLine(keyword=keyword, args=tuple(arg_text.split(" ")) if arg_text else (), text=raw))
    return lines


def find_sig_created(lines: list[StatusLine]) -> SigCreated | None:
    """Return the first well-formed SIG_CREATED line, or ``None``."""
    for line in lines:
        if line.keyword != "SIG_CREATED" or len(line.args) < 6:
            continue
        sig_type, pk_algo, hash_algo, sig_class, timestamp, fingerprint = line.args[:6]
        fingerprint = fingerprint.upper()
        if not (pk_algo.isdigit() and hash_algo.isdigit() and timestamp.isdigit()):
            continue
        if not _FINGERPRINT.match(fingerprint):
            continue
        return SigCreated(
            signature_type=sig_type,
            pubkey_algorithm=int(pk_algo),
            hash_algorithm=int(hash_algo),
            signature_class=sig_class,
            timestamp=int(timestamp),
            fingerprint=fingerprint,
        )
    return None


def summarize_verify(lines: list[StatusLine]) -> VerifyOutcome:
    """Fold the status lines of a ``--verify`` run into one :class:`VerifyOutcome`."""
    verdict: str | None = None
    key_id = user_id = fingerprint = primary = trust = reason = ""
    for line in lines:
        if line.keyword in _VERDICTS:
            verdict = line.keyword
            key_id = line.args[0] if line.args else ""
            if line.keyword == "ERRSIG":
                reason = line.args[5] if len(line.args) > 5 else ""
                fingerprint = line.args[6].upper() if len(line.args) > 6 else ""
            else:
                user_id = " ".join(line.args[1:])
        elif line.keyword == "VALIDSIG" and line.args:
            fingerprint = line.args[0].upper()
            primary = line.args[-1].upper() if len(line.args) >= 10 else fingerprint
        elif line.keyword.startswith("TRUST_"):
            trust = line.keyword.removeprefix("TRUST_")
    return VerifyOutcome(
        verdict=verdict,
        key_id=key_id,
        user_id=user_id,
        fingerprint=fingerprint,
        primary_fingerprint=primary,
        trust=trust,
        error_reason=reason,
    )
