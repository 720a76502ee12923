"""Prepared signing requests: the plan a person approves is the plan that signs.

:func:`prepare_sign` checks key and payload (a gpg key listing: blocking, so callers run it off the event
loop), resolves the key to one fingerprint, and returns the plan with the rows a prompt shows: the key's
fingerprint and user id and what identifies the object (never cut), and the whole object text as git wrote
it — subject and body, author and committer with their dates, parents, tree, every extra header — as one
labelled row, so a quote in a subject cannot fake the structure around it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from auth.prepared import PreparedRequest, Row, prepare
from tools.gpg.payload import CommitSummary, Ident, TagSummary
from tools.gpg.service import GpgService, SignPlan


@dataclass(frozen=True)
class PreparedSign:
    plan: SignPlan
    request: PreparedRequest


def _ident(ident: Ident | None) -> str:
    if ident is None:
        return "(none)"
    when = datetime.fromtimestamp(ident.timestamp, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    return f"{ident.name} <{ident.email}>, {when} (zone {ident.timezone})"


def _object_text(payload: bytes) -> str:
    try:
        return payload.decode("utf-8")
    except UnicodeDecodeError:
        return payload.decode("utf-8", errors="backslashreplace")


def sign_rows(plan: SignPlan) -> list[Row]:
    key = plan.key.key
    user_ids = ", ".join(key.user_ids) if key is not None and key.user_ids else "(no user id)"
    rows = [
        Row("Signing key", plan.fingerprint, keep=True),
        Row("Key user id", user_ids, keep=True),
        Row("Payload SHA-256", plan.payload_sha256, keep=True),
    ]
    summary = plan.checked.summary
    if isinstance(summary, CommitSummary):
        rows += [
            Row("Object", "git commit"),
            Row("Tree", summary.tree, keep=True),
            Row("Parents", str(summary.parent_count), keep=True),
            Row("Author", _ident(summary.author)),
            Row("Committer", _ident(summary.committer)),
            Row("Subject", summary.subject),
        ]
    elif isinstance(summary, TagSummary):
        rows += [
            Row("Object", "git tag"),
            Row("Tag", summary.tag_name, keep=True),
            Row("Tagged object", f"{summary.object_type} {summary.object_id}", keep=True),
            Row("Tagger", _ident(summary.tagger)),
            Row("Subject", summary.subject),
        ]
    else:
        rows.append(Row("Object", getattr(summary, "kind", "git object")))
    rows.append(Row("Whole object as signed (every header and the full message)", _object_text(plan.payload)))
    return rows


def prepare_sign(service: GpgService, target: str, key_spec: str, payload: bytes) -> PreparedSign:
    """Check and resolve a signing request before any decision (raises the service's ``GpgError``)."""
    plan = service.prepare_sign(key_spec, payload)
    summary = plan.checked.summary
    kind = getattr(summary, "kind", "object")
    headline = f"Sign a git {kind} with key {plan.fingerprint}"
    request = prepare(
        target,
        headline,
        sign_rows(plan),
        {"fingerprint": plan.fingerprint, "payload_sha256": plan.payload_sha256},
        extra={"fingerprint": plan.fingerprint, "payload_sha256": plan.payload_sha256},
    )
    return PreparedSign(plan, request)
