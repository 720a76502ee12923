"""One-line human summaries of a signing request, for the approval prompt and the audit log."""

from __future__ import annotations

from tools.gpg.keys import GpgKey
from tools.gpg.payload import (
    CommitSummary,
    PayloadSummary,
    PushCertificateSummary,
    TagSummary,
    printable,
)

__all__ = ["describe_key", "summarize_sign"]

_SHORT_OBJECT_ID = 12


def describe_key(fingerprint: str, key: GpgKey | None = None) -> str:
    """``FINGERPRINT (Primary uid)``; the full fingerprint so a human can compare it."""
    user_id = key.primary_user_id if key is not None else ""
    return f"{fingerprint} ({printable(user_id, 100)})" if user_id else fingerprint


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def _describe_payload(summary: PayloadSummary | None, size_bytes: int, sha256: str) -> str:
    if isinstance(summary, CommitSummary):
        by = f"author {summary.author}"
        if (summary.committer.name, summary.committer.email) != (summary.author.name, summary.author.email):
            by += f", committer {summary.committer}"
        return (
            f'commit "{summary.subject}" ({by}; tree {summary.tree[:_SHORT_OBJECT_ID]}; '
            f"{_plural(summary.parent_count, 'parent')})"
        )
    if isinstance(summary, TagSummary):
        tagger = f"tagger {summary.tagger}" if summary.tagger else "no tagger"
        return (
            f'tag "{summary.tag_name}" on {summary.object_type} {summary.object_id[:_SHORT_OBJECT_ID]} '
            f'({tagger}): "{summary.subject}"'
        )
    if isinstance(summary, PushCertificateSummary):
        refs = ", ".join(update.ref for update in summary.updates[:3])
        if len(summary.updates) > 3:
            refs += ", …"
        pushee = f" to {summary.pushee}" if summary.pushee else ""
        return f"push certificate by {summary.pusher}{pushee} ({_plural(len(summary.updates), 'ref update')}: {refs})"
    return f"{size_bytes}-byte payload sha256:{sha256[:16]}"


def summarize_sign(
    summary: PayloadSummary | None,
    fingerprint: str,
    *,
    key: GpgKey | None = None,
    size_bytes: int = 0,
    sha256: str = "",
) -> str:
    """E.g. ``sign commit "Fix x" (author A <a@x>; tree 1a2b…; 1 parent) with key FPR (A <a@x>)``."""
    return f"sign {_describe_payload(summary, size_bytes, sha256)} with key {describe_key(fingerprint, key)}"
