"""The seed's out-of-process HTTP notifier protocol, as an approval channel.

``POST notification_plugin_url {family_id, scope, description}`` → ``{approved, grant_type: once|timed,
duration_minutes}``. Fail closed: a notifier that is down, slow, answers non-2xx or garbage denies.
"""

from __future__ import annotations

import logging
from typing import Any

import httpx2

from auth.approvals import MAX_GRANT_MINUTES, ApprovalBroker, PendingApproval

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


class HttpNotifierChannel:
    name = "http-notifier"

    def __init__(self, url: str, *, timeout_seconds: float) -> None:
        self.url = url
        self.timeout_seconds = timeout_seconds

    async def present(self, approval: PendingApproval, broker: ApprovalBroker) -> None:
        body = {"family_id": approval.family_id, "scope": approval.scope, "description": approval.summary}
        try:
            async with httpx2.AsyncClient(timeout=self.timeout_seconds) as client:
                response = await client.post(self.url, json=body)
            response.raise_for_status()
            approved, grant, minutes = parse_notifier_answer(response.json())
        except Exception as exc:  # any failure of the notifier denies (fail closed)
            log.warning("notifier %s failed (%s); denying approval %s", self.url, type(exc).__name__, approval.id)
            broker.decide(approval.id, approved=False, decided_by=f"{self.name}:error")
            return
        broker.decide(
            approval.id,
            approved=approved,
            grant=grant,  # type: ignore[arg-type]
            duration_minutes=minutes,
            decided_by=self.name,
        )
