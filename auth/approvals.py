"""The approvals broker: prompt-tier requests wait here for a person's decision.

A request creates a pending approval (or joins an identical one: same family, scope, operation and
summary), notifies every channel (the admin socket's live stream, an HTTP notifier, …) and waits without
blocking the event loop. Decisions: approve once, approve for N minutes (a time-boxed grant for that
family and scope), or deny. No decision before the timeout means deny. Every outcome is audited.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import secrets
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from typing import Any, Literal, Protocol

import anyio

from auth.audit import AuditLog
from auth.errors import AuditError

log = logging.getLogger(__name__)

GrantType = Literal["once", "timed"]
MAX_GRANT_MINUTES = 24 * 60


@dataclass(frozen=True)
class ApprovalDecision:
    approved: bool
    reason: str  # approved | denied | timeout | too_many_pending | channel_error | cancelled
    grant: GrantType | None = None
    duration_minutes: int | None = None
    decided_by: str | None = None
    approval_id: str | None = None
    # What the deciding client said about itself ("tui", "cli"): a claim, recorded apart from ``decided_by``
    # (which the daemon sets from the channel the decision came in on).
    decided_by_claim: str | None = None


@dataclass
class PendingApproval:
    id: str
    family_id: str
    label: str | None
    scope: str
    operation: str
    summary: str
    requested_at: float
    expires_at: float
    waiters: int = 0
    decision: ApprovalDecision | None = None
    _event: anyio.Event = field(default_factory=anyio.Event, repr=False)

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": self.id,
            "family_id": self.family_id,
            "label": self.label,
            "scope": self.scope,
            "operation": self.operation,
            "summary": self.summary,
            "requested_at": self.requested_at,
            "expires_at": self.expires_at,
            "waiters": self.waiters,
            "status": "pending" if self.decision is None else self.decision.reason,
        }
        if self.decision is not None:
            data["decision"] = {
                "approved": self.decision.approved,
                "reason": self.decision.reason,
                "grant": self.decision.grant,
                "duration_minutes": self.decision.duration_minutes,
                "decided_by": self.decision.decided_by,
                "decided_by_claim": self.decision.decided_by_claim,
            }
        return data


class ApprovalChannel(Protocol):
    """Somewhere a pending approval is shown to a person; may decide it by calling ``broker.decide``."""

    name: str

    async def present(self, approval: PendingApproval, broker: ApprovalBroker) -> None: ...


Listener = Callable[[str, dict[str, Any]], None]


class ApprovalBroker:
    def __init__(
        self,
        audit: AuditLog,
        *,
        timeout_seconds: float = 60.0,
        max_pending_per_family: int = 5,
        clock: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
        history_size: int = 50,
    ) -> None:
        self.audit = audit
        self.timeout_seconds = timeout_seconds
        self.max_pending_per_family = max_pending_per_family
        self.clock = clock
        self.monotonic = monotonic
        self._pending: dict[str, PendingApproval] = {}
        self._by_key: dict[tuple[str, str, str, str], str] = {}
        # (family, scope) → (wall-clock expiry, monotonic deadline). The wall time is what callers see; the
        # monotonic deadline keeps a backwards clock jump from stretching a grant past its granted duration.
        self._grants: dict[tuple[str, str], tuple[float, float]] = {}
        self._channels: list[ApprovalChannel] = []
        self._listeners: list[Listener] = []
        self.history: deque[dict[str, Any]] = deque(maxlen=history_size)
        self._counter = itertools.count(1)
        self.on_outcome: Callable[[ApprovalDecision], None] | None = None
        self._closed = False

    # --- wiring --------------------------------------------------------------------------------

    def add_channel(self, channel: ApprovalChannel) -> None:
        self._channels.append(channel)

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        self._listeners.append(listener)

        def unsubscribe() -> None:
            with contextlib.suppress(ValueError):
                self._listeners.remove(listener)

        return unsubscribe

    def _publish(self, kind: str, data: dict[str, Any]) -> None:
        for listener in list(self._listeners):
            try:
                listener(kind, data)
            except Exception:  # a broken subscriber must not break approvals
                log.exception("approval listener failed")

    # --- grants --------------------------------------------------------------------------------

    def active_grant(self, family_id: str, scope: str, now: float) -> float | None:
        """The expiry of a time-boxed grant for (family, scope), if one is active.

        A grant ends at its wall-clock expiry or once its duration has elapsed on the monotonic clock,
        whichever comes first: a clock set forward ends it at once, a clock set back cannot extend it.
        """
        grant = self._grants.get((family_id, scope))
        if grant is None:
            return None
        expires, deadline = grant
        if expires <= now or deadline <= self.monotonic():
            del self._grants[(family_id, scope)]
            return None
        return expires

    def revoke_grants(self, family_id: str) -> None:
        for key in [k for k in self._grants if k[0] == family_id]:
            del self._grants[key]

    def grants(self) -> list[dict[str, Any]]:
        now, mono = self.clock(), self.monotonic()
        return [
            {"family_id": f, "scope": s, "expires_at": e}
            for (f, s), (e, deadline) in sorted(self._grants.items())
            if e > now and deadline > mono
        ]

    # --- requests and decisions ----------------------------------------------------------------

    def pending(self) -> list[PendingApproval]:
        return sorted(self._pending.values(), key=lambda p: p.requested_at, reverse=True)

    def get(self, approval_id: str) -> PendingApproval | None:
        return self._pending.get(approval_id)

    def close(self) -> None:
        """Deny every pending approval and any new request: the daemon is shutting down.

        Waiting callers get their answer now instead of being cut off when the drain deadline passes.
        """
        self._closed = True
        for approval in list(self._pending.values()):
            self._finish(approval, ApprovalDecision(False, "cancelled", decided_by="shutdown"))

    async def request(
        self,
        *,
        family_id: str,
        label: str | None,
        scope: str,
        operation: str,
        summary: str,
        on_created: Callable[[PendingApproval], Awaitable[None]] | None = None,
    ) -> ApprovalDecision:
        """Wait for a decision on (family, scope, operation, summary); deny on timeout."""
        now = self.clock()
        key = (family_id, scope, operation, summary)
        existing_id = self._by_key.get(key)
        approval = self._pending.get(existing_id) if existing_id else None
        created = approval is None
        if approval is None and self._closed:
            decision = ApprovalDecision(False, "cancelled", decided_by="shutdown")
            self._audit_outcome(None, family_id, scope, operation, summary, decision)
            return decision
        if approval is None:
            open_for_family = sum(1 for p in self._pending.values() if p.family_id == family_id)
            if open_for_family >= self.max_pending_per_family:
                decision = ApprovalDecision(False, "too_many_pending")
                self._audit_outcome(None, family_id, scope, operation, summary, decision)
                return decision
            approval = PendingApproval(
                id=f"ap_{next(self._counter)}_{secrets.token_hex(4)}",
                family_id=family_id,
                label=label,
                scope=scope,
                operation=operation,
                summary=summary,
                requested_at=now,
                expires_at=now + self.timeout_seconds,
            )
            try:
                self.audit.append(
                    "approval.requested",
                    approval_id=approval.id,
                    family_id=family_id,
                    scope=scope,
                    operation=operation,
                    summary=summary,
                )
            except AuditError:
                # Audited before it is registered: a request nobody can audit is refused, and it must not
                # stay behind as a pending entry that no one waits on (it would count against the family).
                log.error("audit log unwritable; approval request for %s refused", scope)
                return ApprovalDecision(False, "audit_failed")
            self._pending[approval.id] = approval
            self._by_key[key] = approval.id
            self._publish("approval.created", approval.to_json())
        approval.waiters += 1
        try:
            if created and on_created is not None:
                await on_created(approval)
            async with anyio.create_task_group() as tg:
                if created:
                    for channel in self._channels:
                        tg.start_soon(self._run_channel, channel, approval)
                with anyio.move_on_after(max(0.0, approval.expires_at - self.clock())):
                    await approval._event.wait()
                tg.cancel_scope.cancel()
            if approval.decision is None:
                self._finish(approval, ApprovalDecision(False, "timeout"))
        finally:
            approval.waiters -= 1
            if approval.decision is None and approval.waiters == 0:
                # Every waiter went away (client disconnected): nobody is left to act on a decision.
                with anyio.CancelScope(shield=True):
                    self._finish(approval, ApprovalDecision(False, "cancelled"))
        assert approval.decision is not None
        return approval.decision

    async def _run_channel(self, channel: ApprovalChannel, approval: PendingApproval) -> None:
        try:
            await channel.present(approval, self)
        except Exception as exc:  # a failing channel must never approve; others may still decide
            log.warning("approval channel %s failed: %s", channel.name, exc)

    def decide(
        self,
        approval_id: str,
        *,
        approved: bool,
        grant: GrantType = "once",
        duration_minutes: int | None = None,
        decided_by: str,
        decided_by_claim: str | None = None,
    ) -> PendingApproval | None:
        """Record a person's decision. Returns the approval, or None if it is no longer pending.

        ``decided_by`` names the channel, as the daemon knows it; ``decided_by_claim`` is what the client
        said about itself, kept apart and labelled as a claim.
        """
        approval = self._pending.get(approval_id)
        if approval is None or approval.decision is not None:
            return None
        if approved and grant == "timed":
            if duration_minutes is None or not 1 <= duration_minutes <= MAX_GRANT_MINUTES:
                raise ValueError(f"a timed grant needs 1-{MAX_GRANT_MINUTES} minutes")
            seconds = duration_minutes * 60
            self._grants[(approval.family_id, approval.scope)] = (self.clock() + seconds, self.monotonic() + seconds)
        decision = ApprovalDecision(
            approved,
            "approved" if approved else "denied",
            grant if approved else None,
            duration_minutes if approved and grant == "timed" else None,
            decided_by,
            decided_by_claim=decided_by_claim,
        )
        self._finish(approval, decision)
        return approval

    def _finish(self, approval: PendingApproval, decision: ApprovalDecision) -> None:
        if approval.decision is not None:
            return
        try:
            self._audit_outcome(
                approval.id, approval.family_id, approval.scope, approval.operation, approval.summary, decision
            )
        except AuditError:
            # An approval that cannot be audited is not an approval.
            log.error("audit log unwritable; approval %s treated as denied", approval.id)
            decision = ApprovalDecision(False, "audit_failed", decided_by=decision.decided_by)
            self._grants.pop((approval.family_id, approval.scope), None)
        approval.decision = replace(decision, approval_id=approval.id)
        self._pending.pop(approval.id, None)
        self._by_key.pop((approval.family_id, approval.scope, approval.operation, approval.summary), None)
        approval._event.set()
        data = approval.to_json()
        data["decided_at"] = self.clock()
        self.history.appendleft(data)
        self._publish("approval.decided", data)

    def _audit_outcome(
        self,
        approval_id: str | None,
        family_id: str,
        scope: str,
        operation: str,
        summary: str,
        decision: ApprovalDecision,
    ) -> None:
        try:
            self.audit.append(
                "approval.decided",
                approval_id=approval_id,
                family_id=family_id,
                scope=scope,
                operation=operation,
                summary=summary,
                approved=decision.approved,
                reason=decision.reason,
                grant=decision.grant,
                duration_minutes=decision.duration_minutes,
                decided_by=decision.decided_by,
                **({"decided_by_claim": decision.decided_by_claim} if decision.decided_by_claim else {}),
            )
        finally:
            if self.on_outcome is not None:
                self.on_outcome(decision)
