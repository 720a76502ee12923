"""The out-of-process HTTP notifier, as an approval channel, authenticated both ways.

``POST notification_plugin_url {family_id, scope, description, nonce, approval_id, expires_at}`` (signed) →
``{approved, grant_type: once|timed, duration_minutes, nonce}`` (signed); see ``mcp_server.notifier_protocol``.
Fail closed: a notifier that is down, slow, answers non-2xx, garbage, unsigned, mis-signed or for another
nonce denies. The description is neutralised agent text.
"""

from __future__ import annotations

import json
import logging
import secrets
from typing import Any

import httpx2

from auth.approvals import MAX_GRANT_MINUTES, ApprovalBroker, PendingApproval
from auth.untrusted import neutralise
from mcp_server.errors import AgentAuthError
from mcp_server.notifier_protocol import SIGNATURE_HEADER, answer_is_signed, sign_request

log = logging.getLogger(__name__)


def parse_notifier_answer(data: Any) -> tuple[bool, str, int | None]:
    """Validate a notifier's JSON answer strictly; raise ValueError on anything unexpected."""
    if not isinstance(data, dict) or not isinstance(data.get("approved"), bool):
        raise ValueError("the notifier's answer has no boolean 'approved'")
    if not data["approved"]:
        return False, "once", None
    grant = data.get("grant_type", "once")
    if grant not in ("once", "timed"):
        raise ValueError(f"unknown grant_type {grant!r}")
    minutes = data.get("duration_minutes")
    if grant == "timed":
        if isinstance(minutes, bool) or not isinstance(minutes, int) or not 1 <= minutes <= MAX_GRANT_MINUTES:
            raise ValueError("a timed grant needs duration_minutes between 1 and 1440")
        return True, "timed", minutes
    return True, "once", None


class UnauthenticatedAnswer(AgentAuthError, ValueError):
    """The answer is not signed with this daemon's secret, or not for this request's nonce."""

    code = "unauthenticated"


class HttpNotifierChannel:
    name = "http-notifier"

    def __init__(self, url: str, *, secret: bytes, timeout_seconds: float) -> None:
        self.url = url
        self.timeout_seconds = timeout_seconds
        self._secret = secret

    def __repr__(self) -> str:
        return f"HttpNotifierChannel({self.url!r})"

    async def present(self, approval: PendingApproval, broker: ApprovalBroker) -> None:
        nonce = secrets.token_hex(16)
        body = json.dumps(
            {
                "family_id": approval.family_id,
                "scope": approval.scope,
                "description": neutralise(approval.summary),
                # What the caller wrote (a /validate description), apart from the server's description.
                "caller_says": neutralise(approval.claim) if approval.claim else None,
                "details": approval.details,
                "approval_id": approval.id,
                "nonce": nonce,
                "expires_at": approval.expires_at,
            }
        ).encode()
        headers = {"Content-Type": "application/json", SIGNATURE_HEADER: sign_request(self._secret, body)}
        try:
            async with httpx2.AsyncClient(timeout=self.timeout_seconds) as client:
                response = await client.post(self.url, content=body, headers=headers)
            response.raise_for_status()
            if not answer_is_signed(self._secret, response.content, response.headers.get(SIGNATURE_HEADER)):
                raise UnauthenticatedAnswer("the answer is not signed with this daemon's notifier secret")
            data = response.json()
            if not isinstance(data, dict) or data.get("nonce") != nonce:
                raise UnauthenticatedAnswer("the answer is for another request")
            approved, grant, minutes = parse_notifier_answer(data)
        except Exception as exc:  # any failure of the notifier denies (fail closed)
            reason = exc.code if isinstance(exc, UnauthenticatedAnswer) else "error"
            log.warning("notifier %s failed (%s); denying approval %s", self.url, type(exc).__name__, approval.id)
            broker.decide(approval.id, approved=False, decided_by=f"{self.name}:{reason}")
            return
        broker.decide(
            approval.id,
            approved=approved,
            grant=grant,  # type: ignore[arg-type]
            duration_minutes=minutes,
            decided_by=self.name,
        )
