"""The approvals broker: prompt-tier requests wait here for a person's decision.

A request is bound to one prepared request (``auth.prepared``) by its digest: a new pending approval is
created, or the caller joins one for a byte-identical request of the same family (shown as "N identical
calls", at most ``max_waiters``; every join and leave is published so every channel shows the live count).
Channels (the admin socket's live stream, an HTTP notifier, …) are notified and the caller waits without
blocking the event loop. Decisions: approve once, approve for N minutes (a narrow grant: that family,
scope, surface and target), or deny. A decision may name the waiter count the person saw; if it changed,
the decision is refused and the person looks again. No decision before the timeout means deny; a request
whose every caller went away is withdrawn (nothing runs). Every outcome is audited.
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
from auth.errors import AuditError, AuthError
from auth.grants import GrantBook
from auth.prepared import PreparedRequest

log = logging.getLogger(__name__)

GrantType = Literal["once", "timed"]
MAX_GRANT_MINUTES = 24 * 60
MAX_WAITERS = 20


class ApprovalChangedError(AuthError):
    """The request changed since the person saw it (more identical calls joined, or it was withdrawn)."""

    code = "approval_changed"


@dataclass(frozen=True)
class ApprovalDecision:
    approved: bool
    reason: str  # approved | denied | timeout | too_many_pending | channel_error | cancelled | withdrawn
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
    digest: str | None = None
    surface: str = ""
    details: list[dict[str, Any]] = field(default_factory=list)
    claim: str | None = None
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
            "digest": self.digest,
            "surface": self.surface,
            "details": self.details,
            "claim": self.claim,
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
        timeout_seconds: float,  # the daemon passes its setting (approval_timeout_seconds); no default to drift
        max_pending_per_family: int = 5,
        clock: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
        history_size: int = 50,
        max_waiters: int = MAX_WAITERS,
    ) -> None:
        self.audit = audit
        self.timeout_seconds = timeout_seconds
        self.max_pending_per_family = max_pending_per_family
        self.clock = clock
        self.monotonic = monotonic
        self.max_waiters = max_waiters
        self._pending: dict[str, PendingApproval] = {}
        self._by_key: dict[tuple[str, ...], str] = {}
        # Read through the broker, so a clock swapped on the broker (tests of clock jumps) applies to grants.
        self.grant_book = GrantBook(lambda: self.clock(), lambda: self.monotonic())
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

    def active_grant(
        self, family_id: str, scope: str, now: float, *, surface: str | None = None, target: str | None = None
    ) -> float | None:
        """The expiry of a live time-boxed grant covering this call, if any (see ``auth.grants``)."""
        grant = self.grant_book.active(family_id, scope, now, surface, target)
        return None if grant is None else grant.expires_at

    def revoke_grants(self, family_id: str) -> None:
        self.grant_book.revoke_family(family_id)

    def revoke_grant(self, grant_id: str, *, revoked_by: str) -> dict[str, Any] | None:
        """End one grant early; audited. None when no such grant is live."""
        grant = self.grant_book.revoke(grant_id)
        if grant is None:
            return None
        data = grant.to_json(self.clock())
        self.audit.append(
            "grant.revoked",
            grant_id=grant.id,
            family_id=grant.family_id,
            scope=grant.scope,
            surface=grant.surface,
            target=grant.target,
            revoked_by=revoked_by,
        )
        self._publish("grant.revoked", data)
        return data

    def grants(self) -> list[dict[str, Any]]:
        now = self.clock()
        return [grant.to_json(now) for grant in self.grant_book.live()]

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
        prepared: PreparedRequest | None = None,
        surface: str = "",
        caller_gone: anyio.Event | None = None,
    ) -> ApprovalDecision:
        """Wait for a decision on this request; deny on timeout, withdraw when ``caller_gone`` is set.

        With ``prepared`` the approval binds to its digest (and joins only byte-identical requests of the
        same family); without, to (family, scope, operation, summary).
        """
        now = self.clock()
        key = _key(family_id, scope, operation, summary, prepared)
        existing_id = self._by_key.get(key)
        approval = self._pending.get(existing_id) if existing_id else None
        if approval is not None and approval.waiters >= self.max_waiters:
            decision = ApprovalDecision(False, "too_many_pending")
            self._audit_outcome(approval.id, family_id, scope, operation, summary, decision)
            return decision
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
                digest=prepared.digest if prepared is not None else None,
                surface=surface,
                details=prepared.details() if prepared is not None else [],
                claim=prepared.shown_claim() if prepared is not None else None,
            )
            try:
                self.audit.append(
                    "approval.requested",
                    approval_id=approval.id,
                    family_id=family_id,
                    scope=scope,
                    operation=operation,
                    summary=summary,
                    digest=approval.digest,
                    claim=approval.claim,  # the caller's own words, neutralised, kept apart from the summary
                )
            except AuditError:
                # Audited before it is registered: a request nobody can audit is refused, and it must not
                # stay behind as a pending entry that no one waits on (it would count against the family).
                log.error("audit log unwritable; approval request for %s refused", scope)
                refused = ApprovalDecision(False, "audit_failed")
                self._report(refused)
                return refused
            self._pending[approval.id] = approval
            self._by_key[key] = approval.id
        approval.waiters += 1
        # Published after the waiter is counted, so every channel sees the live count ("N identical calls").
        self._publish("approval.created" if created else "approval.updated", approval.to_json())
        try:
            if created and on_created is not None:
                await on_created(approval)
            async with anyio.create_task_group() as tg:
                if created:
                    for channel in self._channels:
                        tg.start_soon(self._run_channel, channel, approval)
                woke = anyio.Event()
                tg.start_soon(_relay, approval._event, woke)
                if caller_gone is not None:
                    tg.start_soon(_relay, caller_gone, woke)
                with anyio.move_on_after(max(0.0, approval.expires_at - self.clock())):
                    await woke.wait()
                tg.cancel_scope.cancel()
            if approval.decision is None and caller_gone is not None and caller_gone.is_set():
                raise _CallerGone
            if approval.decision is None:
                self._finish(approval, ApprovalDecision(False, "timeout"))
        except _CallerGone:
            return ApprovalDecision(False, "withdrawn", approval_id=approval.id)
        finally:
            approval.waiters -= 1
            if approval.decision is None and approval.waiters == 0:
                # Every caller went away (cancelled, disconnected): nobody is left to act on a decision, so
                # it is withdrawn — approving it now does nothing.
                with anyio.CancelScope(shield=True):
                    self._finish(approval, ApprovalDecision(False, "withdrawn"))
            elif approval.decision is None:
                self._publish("approval.updated", approval.to_json())
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
        seen_waiters: int | None = None,
    ) -> PendingApproval | None:
        """Record a person's decision. Returns the approval, or None if it is no longer pending.

        ``decided_by`` names the channel, as the daemon knows it; ``decided_by_claim`` is what the client
        said about itself, kept apart and labelled as a claim. ``seen_waiters``: how many identical calls
        the person saw waiting; if another count waits now, nothing is decided (:class:`ApprovalChangedError`)
        and the person looks again.
        """
        approval = self._pending.get(approval_id)
        if approval is None or approval.decision is not None:
            return None
        if approved and seen_waiters is not None and approval.waiters != seen_waiters:
            raise ApprovalChangedError(
                f"{approval.waiters} identical calls wait on this request now, not {seen_waiters}; look again"
            )
        if approved and grant == "timed":
            if duration_minutes is None or not 1 <= duration_minutes <= MAX_GRANT_MINUTES:
                raise ValueError(f"a timed grant needs 1-{MAX_GRANT_MINUTES} minutes")
            self.grant_book.add(
                family_id=approval.family_id,
                label=approval.label,
                scope=approval.scope,
                surface=approval.surface,
                target=approval.operation,
                seconds=duration_minutes * 60,
            )
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
            self._audit_decided(
                approval.id, approval.family_id, approval.scope, approval.operation, approval.summary, decision
            )
        except AuditError:
            # An approval that cannot be audited is not an approval.
            log.error("audit log unwritable; approval %s treated as denied", approval.id)
            decision = ApprovalDecision(False, "audit_failed", decided_by=decision.decided_by)
            grant = self.grant_book.active(
                approval.family_id, approval.scope, self.clock(), approval.surface, approval.operation
            )
            if grant is not None:
                self.grant_book.revoke(grant.id)
        self._report(decision)  # the outcome the callers get, audit_failed included
        approval.decision = replace(decision, approval_id=approval.id)
        self._pending.pop(approval.id, None)
        for key in [k for k, v in self._by_key.items() if v == approval.id]:
            del self._by_key[key]
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
        """Audit a refusal that never became a pending approval, and report it (even if the audit fails)."""
        try:
            self._audit_decided(approval_id, family_id, scope, operation, summary, decision)
        finally:
            self._report(decision)

    def _report(self, decision: ApprovalDecision) -> None:
        if self.on_outcome is not None:
            self.on_outcome(decision)

    def _audit_decided(
        self,
        approval_id: str | None,
        family_id: str,
        scope: str,
        operation: str,
        summary: str,
        decision: ApprovalDecision,
    ) -> None:
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


class _CallerGone(Exception):
    """Internal: the caller of a waiter went away; its wait is withdrawn."""


async def _relay(source: anyio.Event, target: anyio.Event) -> None:
    await source.wait()
    target.set()


def _key(family_id: str, scope: str, operation: str, summary: str, prepared: PreparedRequest | None) -> tuple[str, ...]:
    if prepared is not None:
        return ("digest", family_id, prepared.digest)
    return ("summary", family_id, scope, operation, summary)
