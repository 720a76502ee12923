"""The gate: one decision function for every surface (REST validate, MCP tools, the bridges).

A gated call has one path on every surface::

    edge: identify(token) once ──▶ Principal | Unauthenticated
    admit(identity, scope, surface, target, digest)
        decide()            tier (auth.scopes.tier_of), rate limit charged once, timed grant
        prompt tier ──▶ wait for a person ──▶ recheck_while_deciding()  (the family may be revoked meanwhile)
        record the decision (one ``decision`` entry; unwritable → the call is refused: no record, no effect)
    run the call ──▶ record_result()  (one ``call.result`` entry)

The hot path (valid token, allowed scope, warm cache) does an HMAC check, a few dict lookups, a rate-limit
bucket update and an audit append — no decryption and no SQL. The cache holds decrypted families and token
states; it is invalidated from the ``changes`` table whenever SQLite's ``data_version`` says another
connection (the CLI in another process, or this process) committed.
"""

from __future__ import annotations

import hashlib
import json
import logging
import sqlite3
import threading
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

import anyio

from auth import tokens
from auth.approvals import ApprovalBroker, ApprovalDecision, PendingApproval
from auth.authority import Authority, check_access
from auth.decision_record import DECISION_EVENT, RESULT_EVENT, decision_fields, new_call_id
from auth.errors import AuditError, InvalidScopeError, InvalidTokenError, TokenError
from auth.families import FamilyInfo, TokenState
from auth.prepared import PreparedRequest
from auth.principal import EdgeIdentity, Principal, Unauthenticated
from auth.ratelimit import RateLimiter
from auth.scopes import Tier, effective_scopes, validate_scope
from auth.tokens import TokenKind
from auth.untrusted import clip

log = logging.getLogger(__name__)

MAX_SUMMARY_LENGTH = 500

__all__ = ["Decision", "FamilyCache", "Gate", "Principal", "Unauthenticated", "clean_summary", "request_digest"]


@dataclass(frozen=True, slots=True)
class Decision:
    allowed: bool
    code: str | None  # None when allowed; else invalid_token, token_expired, token_revoked, scope_denied, …
    tier: Tier | None = None
    family_id: str | None = None
    label: str | None = None
    token_id: str | None = None
    retry_after_seconds: float | None = None
    approval: ApprovalDecision | None = None
    detail: str | None = None
    call_id: str | None = None

    @property
    def needs_approval(self) -> bool:
        return self.allowed is False and self.code == "approval_required"

    @property
    def reason(self) -> str:
        """The record's ``reason``: why the call was allowed, or the code of its refusal."""
        if self.allowed:
            return self.detail if self.detail in ("timed_grant", "approved") else "allow_tier"
        if self.approval is not None and not self.approval.approved and self.code == "scope_denied":
            return self.approval.reason
        return self.code or "scope_denied"

    def recorded(self, call_id: str) -> Decision:
        """This decision with the ``call_id`` of its record (``dataclasses.replace`` costs µs per call)."""
        return Decision(
            self.allowed,
            self.code,
            self.tier,
            self.family_id,
            self.label,
            self.token_id,
            self.retry_after_seconds,
            self.approval,
            self.detail,
            call_id,
        )


def clean_summary(summary: str | None, fallback: str) -> str:
    """The summary shown to a person and written to the audit log: one line, neutralised, bounded."""
    return clip(summary or fallback, MAX_SUMMARY_LENGTH)


_WELL_FORMED: dict[str, bool] = {}  # scopes already checked against the grammar (bounded: a few per tool)
_MAX_WELL_FORMED = 1024


def _malformed(scope: str) -> bool:
    if scope in _WELL_FORMED:
        return False
    try:
        validate_scope(scope)
    except InvalidScopeError:
        return True
    if len(_WELL_FORMED) < _MAX_WELL_FORMED:
        _WELL_FORMED[scope] = True
    return False


def request_digest(target: str, arguments: Mapping[str, Any]) -> str:
    """SHA-256 of the canonical JSON of a request (its target and every argument)."""
    canonical = json.dumps(
        {"target": target, "arguments": arguments}, sort_keys=True, separators=(",", ":"), default=str
    ).encode()
    return hashlib.sha256(canonical).hexdigest()


SYNC_INTERVAL_NS = 1_000_000  # how stale another process's change may look: 1 ms


MAX_CACHED_ENTRIES = 10_000  # token states (and, separately, families) held at most; the oldest go first


class FamilyCache:
    """Decrypted families and token states, evicted precisely when the store changes, and bounded in size."""

    def __init__(
        self,
        authority: Authority,
        *,
        max_entries: int = MAX_CACHED_ENTRIES,
        monotonic_ns: Callable[[], int] = time.monotonic_ns,
    ) -> None:
        if max_entries < 1:
            raise ValueError("max_entries must be at least 1")
        self.authority = authority
        self.max_entries = max_entries
        self._monotonic_ns = monotonic_ns
        self._lock = threading.Lock()
        self._tokens: dict[str, TokenState] = {}
        self._families: dict[str, FamilyInfo] = {}
        self._family_tokens: dict[str, set[str]] = {}
        self._watch = sqlite3.connect(f"file:{authority.db.path}?mode=ro", uri=True, check_same_thread=False)
        self._seen_counter = authority.change_counter
        self._synced_ns = 0
        self._seq = self._latest_seq()
        self._data_version = self._read_data_version()

    def _latest_seq(self) -> int:
        row = self._watch.execute("SELECT COALESCE(MAX(seq), 0) FROM changes").fetchone()
        return int(row[0])

    def _read_data_version(self) -> int:
        return int(self._watch.execute("PRAGMA data_version").fetchone()[0])

    def sync(self) -> None:
        """Evict whatever changed since the last call (cheap when nothing did).

        A change committed by this process is seen by the next call (``Authority.change_counter``); one
        committed by another process (the CLI writing the store directly) within ``SYNC_INTERVAL_NS``.
        """
        now = self._monotonic_ns()
        counter = self.authority.change_counter
        if counter == self._seen_counter and now - self._synced_ns < SYNC_INTERVAL_NS:
            return
        self._seen_counter, self._synced_ns = counter, now
        version = self._read_data_version()
        if version == self._data_version:
            return
        with self._lock:
            self._data_version = version
            self._seq, changed = self.authority.changes_since(self._seq)
            for family_id in changed:
                self.evict(family_id)

    def evict(self, family_id: str) -> None:
        self._families.pop(family_id, None)
        for token_id in self._family_tokens.pop(family_id, set()):
            self._tokens.pop(token_id, None)

    def token(self, token_id: str) -> TokenState | None:
        state = self._tokens.get(token_id)
        if state is None:
            state = self.authority.lookup_token(token_id)
            if state is not None:
                with self._lock:
                    while len(self._tokens) >= self.max_entries:
                        self._drop_oldest_token()
                    self._tokens[token_id] = state
                    self._family_tokens.setdefault(state.family_id, set()).add(token_id)
        return state

    def _drop_oldest_token(self) -> None:
        token_id, state = next(iter(self._tokens.items()))
        del self._tokens[token_id]
        siblings = self._family_tokens.get(state.family_id)
        if siblings is not None:
            siblings.discard(token_id)
            if not siblings:
                del self._family_tokens[state.family_id]

    def family(self, family_id: str) -> FamilyInfo | None:
        info = self._families.get(family_id)
        if info is None:
            info = self.authority.lookup_family_row(family_id)
            if info is not None:
                with self._lock:
                    while len(self._families) >= self.max_entries:
                        del self._families[next(iter(self._families))]
                    self._families[family_id] = info
        return info

    @property
    def size(self) -> tuple[int, int]:
        """How many (token states, families) are cached."""
        return len(self._tokens), len(self._families)

    def close(self) -> None:
        self._watch.close()


DecisionObserver = Callable[[Decision, str, str], None]
Summary = str | Callable[[], str] | None
OnPending = Callable[[PendingApproval], Awaitable[None]]


class Gate:
    def __init__(
        self,
        authority: Authority,
        broker: ApprovalBroker,
        *,
        rate_limit_per_minute: int = 600,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.authority = authority
        self.broker = broker
        self.cache = FamilyCache(authority)
        self.limiter = RateLimiter(rate_limit_per_minute)
        self.clock = clock
        self.observers: list[DecisionObserver] = []
        self.last_used: dict[str, float] = {}
        self._signing_key = authority.keys.signing
        # token id -> (the token state and family a principal was built from, that principal)
        self._principals: dict[str, tuple[TokenState, FamilyInfo, Principal]] = {}
        self._principals_lock = threading.Lock()

    # --- authentication (once per request, at the edge) ----------------------------------------

    def authenticate(self, token: str, now: float | None = None) -> Principal:
        """Check an access token; raise a :class:`TokenError` subclass when it cannot be used."""
        now = self.clock() if now is None else now
        parsed = tokens.verify(token, self._signing_key, TokenKind.ACCESS)
        return self._principal(parsed.token_id, now)

    def identify(self, token: str | None, now: float | None = None) -> EdgeIdentity:
        """The edge's one authentication of a request: a principal, or why there is none. Never raises."""
        if token is None:
            return Unauthenticated("missing_token")
        try:
            return self.authenticate(token, now)
        except TokenError as exc:
            return Unauthenticated(exc.code, exc.detail)

    def recheck_while_deciding(self, principal: Principal, now: float | None = None) -> Principal:
        """The deliberate second look after a person decided: the family may have been revoked (or the
        token expired) while they were deciding. Reads the token's state; no new authentication and no
        rate-limit charge."""
        return self._principal(principal.token_id, self.clock() if now is None else now)

    def _principal(self, token_id: str, now: float) -> Principal:
        self.cache.sync()
        state = self.cache.token(token_id)
        if state is None:
            raise InvalidTokenError("invalid token", detail="unknown token id")
        family = self.cache.family(state.family_id)
        if family is None:
            raise InvalidTokenError("invalid token", detail="family missing")
        check_access(state, family, now)
        # The cache replaces a token's state or family object whenever the store changes (both are frozen),
        # so a principal built from the very same two objects is still exact: reuse it (no scope copy).
        known = self._principals.get(token_id)
        if known is not None and known[0] is state and known[1] is family:
            return known[2]
        principal = Principal(
            state.token_id, family.id, family.label, effective_scopes(family.scopes), state.expires_at
        )
        with self._principals_lock:
            while len(self._principals) >= MAX_CACHED_ENTRIES:
                del self._principals[next(iter(self._principals))]
            self._principals[token_id] = (state, family, principal)
        return principal

    # --- the decision ----------------------------------------------------------------------------

    def decide(
        self,
        identity: EdgeIdentity,
        scope: str | None,
        *,
        now: float | None = None,
        surface: str | None = None,
        target: str | None = None,
    ) -> Decision:
        """Decide without waiting or recording: allow, deny, or ``approval_required`` (prompt tier).

        ``scope=None`` is a tool any valid token may use (``whoami``). The rate limit is charged here and
        only here: once per call, whatever the tier and however long an approval then takes.
        """
        if scope is not None and _malformed(scope):
            if isinstance(identity, Principal):
                return Decision(
                    False,
                    "scope_denied",
                    None,
                    identity.family_id,
                    identity.label,
                    identity.token_id,
                    detail="malformed scope",
                )
            return Decision(False, "scope_denied", detail="malformed scope")
        if isinstance(identity, Unauthenticated):
            return Decision(False, identity.code, detail=identity.detail)
        now = self.clock() if now is None else now
        principal = identity
        who = (principal.family_id, principal.label, principal.token_id)
        tier = Tier.ALLOW if scope is None else principal.tier(scope)
        if tier is Tier.DENY:
            return Decision(False, "scope_denied", tier, *who)
        wait = self.limiter.acquire(principal.family_id, now)
        if wait > 0:
            return Decision(False, "rate_limited", tier, *who, wait)
        self.last_used[principal.family_id] = now
        if tier is Tier.ALLOW:
            return Decision(True, None, tier, *who)
        assert scope is not None
        if self.broker.active_grant(principal.family_id, scope, now, surface=surface, target=target) is not None:
            return Decision(True, None, tier, *who, detail="timed_grant")
        return Decision(False, "approval_required", tier, *who)

    async def admit(
        self,
        identity: EdgeIdentity,
        scope: str | None,
        *,
        surface: str,
        target: str,
        digest: str | None = None,
        summary: Summary = None,
        prepared: PreparedRequest | None = None,
        on_pending: OnPending | None = None,
        caller_gone: anyio.Event | None = None,
        started: float | None = None,
    ) -> Decision:
        """:meth:`decide`, then :meth:`conclude`: wait for a person at the prompt tier, record the decision."""
        decision = self.decide(identity, scope, surface=surface, target=target)
        return await self.conclude(
            identity,
            decision,
            scope,
            surface=surface,
            target=target,
            digest=digest,
            summary=summary,
            prepared=prepared,
            on_pending=on_pending,
            caller_gone=caller_gone,
            started=started,
        )

    async def conclude(
        self,
        identity: EdgeIdentity,
        decision: Decision,
        scope: str | None,
        *,
        surface: str,
        target: str,
        digest: str | None = None,
        summary: Summary = None,
        prepared: PreparedRequest | None = None,
        on_pending: OnPending | None = None,
        caller_gone: anyio.Event | None = None,
        started: float | None = None,
    ) -> Decision:
        """Finish a decision from :meth:`decide` and record it (the call's one ``decision`` record).

        At the prompt tier a person is asked; with ``prepared`` the approval binds to its digest and shows
        its rows. The returned decision carries the ``call_id`` of its record. If the record cannot be
        written the decision is ``audit_unavailable``: the caller runs nothing. A call cancelled while a
        person decides is recorded as ``cancelled``; one whose caller went away as ``withdrawn``.
        """
        started = time.perf_counter() if started is None else started
        digest = prepared.digest if prepared is not None else digest
        if decision.needs_approval:
            assert isinstance(identity, Principal) and scope is not None
            asked: list[str] = []  # the approval this call waited on, so a cancelled call's record names it

            async def pending(approval: PendingApproval) -> None:
                asked.append(approval.id)
                if on_pending is not None:
                    await on_pending(approval)

            try:
                decision = await self._ask_a_person(
                    identity, decision, scope, surface, target, summary, prepared, pending, caller_gone
                )
            except anyio.get_cancelled_exc_class():
                with anyio.CancelScope(shield=True):
                    waited_on = ApprovalDecision(False, "withdrawn", approval_id=asked[0]) if asked else None
                    cancelled = replace(decision, code="cancelled", detail="cancelled", approval=waited_on)
                    self.record_decision(
                        cancelled, surface=surface, target=target, scope=scope, digest=digest, started=started
                    )
                raise
        return self.record_decision(
            decision, surface=surface, target=target, scope=scope, digest=digest, started=started
        )

    async def _ask_a_person(
        self,
        principal: Principal,
        decision: Decision,
        scope: str,
        surface: str,
        target: str,
        summary: Summary,
        prepared: PreparedRequest | None,
        on_pending: OnPending | None,
        caller_gone: anyio.Event | None,
    ) -> Decision:
        if prepared is not None:
            text: str | None = prepared.headline
        else:
            text = await anyio.to_thread.run_sync(summary) if callable(summary) else summary
        approval = await self.broker.request(
            family_id=principal.family_id,
            label=principal.label,
            scope=scope,
            operation=target,
            summary=clean_summary(text, f"{target} ({scope})"),
            on_created=on_pending,
            prepared=prepared,
            surface=surface,
            caller_gone=caller_gone,
        )
        base = replace(decision, code=None, approval=approval)
        if not approval.approved:
            return replace(base, code="scope_denied", detail=approval.reason)
        try:
            self.recheck_while_deciding(principal)
        except TokenError as exc:
            return replace(base, code=exc.code, detail=exc.detail)
        return replace(base, allowed=True, detail="approved")

    # --- the record ------------------------------------------------------------------------------

    def record_decision(
        self,
        decision: Decision,
        *,
        surface: str,
        target: str,
        scope: str | None,
        digest: str | None = None,
        started: float | None = None,
    ) -> Decision:
        """Write the call's one ``decision`` entry; an unwritable log turns the decision into a refusal."""
        call_id = new_call_id()
        latency = 0.0 if started is None else round((time.perf_counter() - started) * 1000, 3)
        allowed = decision.allowed
        record = decision_fields(
            call_id=call_id,
            surface=surface,
            target=target,
            scope=scope,
            tier=decision.tier.value if decision.tier is not None else None,
            outcome="allow" if allowed else "deny",
            code=None if allowed else (decision.code or "scope_denied"),
            reason=decision.reason,
            family_id=decision.family_id,
            label=decision.label,
            token_id=decision.token_id,
            approval_id=decision.approval.approval_id if decision.approval is not None else None,
            digest=digest,
            latency_ms=latency,
            result="admitted" if allowed else "refused",
        )
        try:
            self.authority.audit.append_fields(DECISION_EVENT, record)
        except AuditError:
            log.error("audit log unwritable; refusing the request (%s %s)", surface, target)
            decision = Decision(
                False,
                "audit_unavailable",
                family_id=decision.family_id,
                label=decision.label,
                token_id=decision.token_id,
            )
        else:
            decision = decision.recorded(call_id)
        if self.observers:
            self._observe(decision, scope or "", target)
        return decision

    def record_result(self, decision: Decision, result: str, *, started: float | None = None, **details: Any) -> bool:
        """Write the ``call.result`` entry of an admitted call; False when the log is unwritable."""
        latency = 0.0 if started is None else round((time.perf_counter() - started) * 1000, 3)
        fields = {k: v for k, v in details.items() if v is not None} if details else {}
        fields["call_id"], fields["result"], fields["latency_ms"] = decision.call_id, result, latency
        try:
            self.authority.audit.append_fields(RESULT_EVENT, fields)
        except AuditError:
            log.error("audit log unwritable while recording the result of call %s", decision.call_id)
            return False
        return True

    def _observe(self, decision: Decision, scope: str, target: str) -> None:
        for observer in self.observers:
            observer(decision, scope, target)

    # --- one-shot helpers (authenticate here: for routes whose edge is the route itself) ----------

    def check(
        self,
        token: str,
        required_scope: str,
        *,
        operation: str = "validate",
        now: float | None = None,
        audit: bool = True,
    ) -> Decision:
        """Identify, decide and record without waiting; a prompt tier answers ``approval_required``.

        ``audit=False`` skips the record (benchmarks measure the decision alone with it).
        """
        if _malformed(required_scope):
            identity: EdgeIdentity = Unauthenticated("scope_denied", "malformed scope")  # the token is not read
        elif not isinstance(token, str):
            identity = Unauthenticated("invalid_token", "not a string")
        else:
            identity = self.identify(token, now)
        decision = self.decide(identity, required_scope, now=now, surface="rest", target=operation)
        if not audit or decision.needs_approval:
            return decision
        return self.record_decision(decision, surface="rest", target=operation, scope=required_scope)

    async def authorize(
        self,
        token: str,
        required_scope: str,
        *,
        operation: str,
        summary: str | None = None,
        on_pending: OnPending | None = None,
    ) -> Decision:
        """Identify, then :meth:`admit` (waiting for a person at the prompt tier)."""
        return await self.admit(
            self.identify(token),
            required_scope,
            surface="rest",
            target=operation,
            summary=summary,
            on_pending=on_pending,
        )

    def flush_last_used(self) -> None:
        """Write batched last-use times to the store (called periodically)."""
        pending, self.last_used = self.last_used, {}
        if pending:
            self.authority.touch(pending)

    def close(self) -> None:
        self.cache.close()
