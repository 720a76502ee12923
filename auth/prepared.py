"""Prepared requests: what a gated call will do, worked out before any decision.

Each surface turns a call's arguments into a :class:`PreparedRequest` *before* the gate decides: the
target resolved (which to-do, which key), the payload, labelled rows for every field that changes
something, and a digest of the canonical form. A person's approval binds to that digest; the prompt is
rendered from the rows (never from caller free text, which is kept apart as a ``caller_claim``); and the
very same prepared object runs after approval. Arguments that cannot be prepared are refused before any
prompt (:class:`PrepareError`).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from auth.errors import AuthError
from auth.untrusted import clip, neutralise

MAX_ROW_CHARS = 4000
MAX_HEADLINE_CHARS = 200
MAX_CLAIM_CHARS = 2000

__all__ = ["PrepareError", "PreparedRequest", "Row", "canonical_digest", "prepare"]


class PrepareError(AuthError, ValueError):
    """The call's arguments cannot become a prepared request; it is refused before any prompt.

    ``reason`` is the refusal's code in the decision record (``invalid_arguments``, or the integration's own
    code such as ``key_not_allowed``)."""

    code = "invalid_arguments"

    def __init__(self, message: str, *, reason: str = "invalid_arguments") -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Row:
    """One labelled field of a prompt's details view. ``keep``: it identifies the effect (the target, the
    key) and is never cut; other rows are cut visibly at ``MAX_ROW_CHARS``."""

    label: str
    value: str
    keep: bool = False

    def shown(self) -> dict[str, Any]:
        text = neutralise(self.value, multiline=True)
        if self.keep or len(text) <= MAX_ROW_CHARS:
            return {"label": neutralise(self.label), "value": text, "truncated": 0}
        cut = len(text) - MAX_ROW_CHARS
        return {"label": neutralise(self.label), "value": text[:MAX_ROW_CHARS], "truncated": cut}


# Built once: ``json.dumps`` with options builds a new encoder per call (the same bytes either way).
_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def canonical_digest(target: str, canonical: Mapping[str, Any]) -> str:
    """SHA-256 of the canonical JSON of (target, canonical form): equal only for byte-identical requests."""
    body = _CANONICAL.encode({"target": target, "request": canonical}).encode()
    return hashlib.sha256(body).hexdigest()


@dataclass(frozen=True, slots=True)
class PreparedRequest:
    target: str
    headline: str  # written by the server from validated, resolved fields
    rows: tuple[Row, ...]
    digest: str
    caller_claim: str | None = None  # free text the caller wrote; shown apart, labelled as theirs
    extra: Mapping[str, Any] = field(default_factory=dict)  # ids for the result record (never secrets)

    def details(self) -> list[dict[str, Any]]:
        """The rows as the prompt shows them: neutralised, labelled, cut visibly (never a ``keep`` row)."""
        return [row.shown() for row in self.rows]

    def shown_headline(self) -> str:
        return clip(self.headline, MAX_HEADLINE_CHARS)

    def shown_claim(self) -> str | None:
        if self.caller_claim is None:
            return None
        return clip(self.caller_claim, MAX_CLAIM_CHARS)


def prepare(
    target: str,
    headline: str,
    rows: Iterable[Row | tuple[str, str]],
    canonical: Mapping[str, Any],
    *,
    caller_claim: str | None = None,
    extra: Mapping[str, Any] | None = None,
) -> PreparedRequest:
    """A prepared request whose digest covers the target and every field of ``canonical``."""
    built = tuple(row if isinstance(row, Row) else Row(*row) for row in rows)
    return PreparedRequest(
        target=target,
        headline=headline,
        rows=built,
        digest=canonical_digest(target, canonical),
        caller_claim=caller_claim,
        extra=dict(extra or {}),
    )
