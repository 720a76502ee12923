"""The decision record: one audit entry per gated call, the same shape on every surface.

Every surface (MCP ``tools/call``, REST ``/validate``, the Things and GPG bridges and the git shim that
calls the GPG bridge) writes exactly one ``decision`` entry per call, *before* anything runs: if it
cannot be written the call is refused (no record, no effect). A call that then runs leaves one
``call.result`` entry with the same ``call_id`` and the outcome of the run.

Fields of ``decision`` (all always present, ``None`` when not applicable):

``call_id``      unique per call; links the ``call.result`` entry
``surface``      ``mcp`` | ``rest``
``target``       the tool name (MCP) or the route (REST)
``scope``        the scope the call needs (``None`` for a tool any valid token may use)
``tier``         the principal's tier for that scope
``outcome``      ``allow`` | ``deny``
``code``         the refusal's stable error code (``scope_denied``, ``invalid_token``, …); ``None`` when allowed
``reason``       why: ``allow_tier``, ``timed_grant``, ``approved``; or a refusal code (``scope_denied``,
                 ``rate_limited``, ``invalid_token``, …) or the approval's outcome (``denied``, ``timeout``,
                 ``cancelled``, ``withdrawn``, …)
``family_id``, ``label``, ``token_id``   who asked
``approval_id``  the approval a person decided, if any
``digest``       SHA-256 of the canonical request (what would run), if the surface prepared one
``latency_ms``   from the call's arrival to the decision (approval wait included)
``result``       ``refused`` (nothing runs) or ``admitted`` (the call runs; see ``call.result``)
"""

from __future__ import annotations

import os
from typing import Any

DECISION_EVENT = "decision"
RESULT_EVENT = "call.result"

RECORD_FIELDS = (
    "call_id",
    "surface",
    "target",
    "scope",
    "tier",
    "outcome",
    "code",
    "reason",
    "family_id",
    "label",
    "token_id",
    "approval_id",
    "digest",
    "latency_ms",
    "result",
)


def new_call_id() -> str:
    return "c_" + os.urandom(8).hex()  # what secrets.token_hex(8) does, one call shorter


def decision_fields(
    *,
    call_id: str,
    surface: str,
    target: str,
    scope: str | None,
    tier: str | None,
    outcome: str,
    code: str | None,
    reason: str,
    family_id: str | None,
    label: str | None,
    token_id: str | None,
    approval_id: str | None,
    digest: str | None,
    latency_ms: float,
    result: str,
) -> dict[str, Any]:
    """The fields of a ``decision`` entry, every one named; the keys are ``RECORD_FIELDS``."""
    return {
        "call_id": call_id,
        "surface": surface,
        "target": target,
        "scope": scope,
        "tier": tier,
        "outcome": outcome,
        "code": code,
        "reason": reason,
        "family_id": family_id,
        "label": label,
        "token_id": token_id,
        "approval_id": approval_id,
        "digest": digest,
        "latency_ms": latency_ms,
        "result": result,
    }
