"""The gate: one decision function for every surface (REST validate, MCP tools, the bridges).

``(access token, required scope, summary of the call) → allow | needs approval | deny(code)``.

The hot path (valid token, allowed scope, warm cache) does an HMAC check, a few dict lookups, a rate-limit
bucket update and an audit append — no decryption and no SQL. The cache holds decrypted families and token
states; it is invalidated from the ``changes`` table whenever SQLite's ``data_version`` says another
connection (the CLI in another process, or this process) committed.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from auth import tokens
from auth.approvals import ApprovalBroker, ApprovalDecision, PendingApproval
from auth.authority import Authority, check_access
from auth.errors import AuditError, InvalidScopeError, InvalidTokenError, TokenError
from auth.families import FamilyInfo, TokenState
from auth.ratelimit import RateLimiter
from auth.scopes import Tier, effective_scopes, validate_scope
from auth.tokens import TokenKind
from auth.untrusted import clip

log = logging.getLogger(__name__)

MAX_SUMMARY_LENGTH = 500


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

    @property
    def needs_approval(self) -> bool:
        return self.allowed is False and self.code == "approval_required"


@dataclass(frozen=True, slots=True)
class Principal:
    """Who a valid access token speaks for."""

    token_id: str
    family_id: str
    label: str | None
    scopes: dict[str, Tier]
    expires_at: float


def clean_summary(summary: str | None, fallback: str) -> str:
    """The summary shown to a person and written to the audit log: one line, neutralised, bounded."""
    return clip(summary or fallback, MAX_SUMMARY_LENGTH)


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

    # --- authentication ------------------------------------------------------------------------

    def authenticate(self, token: str, now: float | None = None) -> Principal:
        """Check an access token; raise a :class:`TokenError` subclass when it cannot be used."""
        now = self.clock() if now is None else now
        parsed = tokens.verify(token, self._signing_key, TokenKind.ACCESS)
        self.cache.sync()
        state = self.cache.token(parsed.token_id)
        if state is None:
            raise InvalidTokenError("invalid token", detail="unknown token id")
        family = self.cache.family(state.family_id)
        if family is None:
            raise InvalidTokenError("invalid token", detail="family missing")
        check_access(state, family, now)
        return Principal(state.token_id, family.id, family.label, effective_scopes(family.scopes), state.expires_at)

    # --- decisions -----------------------------------------------------------------------------

    def check(
        self,
        token: str,
        required_scope: str,
        *,
        operation: str = "validate",
        now: float | None = None,
        audit: bool = True,
    ) -> Decision:
        """Decide without waiting: allow, deny, or ``approval_required`` for a prompt-tier scope.

        With ``audit=False`` the caller writes the audit entry itself (the MCP layer writes one entry per
        call, with the decision and the latency).
        """
        now = self.clock() if now is None else now
        record = self._record if audit else self._observe
        try:
            validate_scope(required_scope)
        except InvalidScopeError:
            return record(Decision(False, "scope_denied", detail="malformed scope"), required_scope, operation)
        try:
            principal = self.authenticate(token, now)
        except TokenError as exc:
            return record(Decision(False, exc.code, detail=exc.detail), required_scope, operation)
        tier = principal.scopes.get(required_scope, Tier.DENY)
        who = (principal.family_id, principal.label, principal.token_id)
        if tier is Tier.DENY:
            return record(Decision(False, "scope_denied", tier, *who), required_scope, operation)
        wait = self.limiter.acquire(principal.family_id, now)
        if wait > 0:
            return record(Decision(False, "rate_limited", tier, *who, wait), required_scope, operation)
        self.last_used[principal.family_id] = now
        if tier is Tier.ALLOW:
            return record(Decision(True, None, tier, *who), required_scope, operation)
        if self.broker.active_grant(principal.family_id, required_scope, now) is not None:
            return record(Decision(True, None, tier, *who, detail="timed_grant"), required_scope, operation)
        return Decision(False, "approval_required", tier, *who)

    async def authorize(
        self,
        token: str,
        required_scope: str,
        *,
        operation: str,
        summary: str | None = None,
        on_pending: Callable[[PendingApproval], Any] | None = None,
        audit: bool = True,
    ) -> Decision:
        """Decide, waiting for a person when the scope's tier is ``prompt``."""
        decision = self.check(token, required_scope, operation=operation, audit=audit)
        if not decision.needs_approval:
            return decision
        record = self._record if audit else self._observe
        assert decision.family_id is not None
        approval = await self.broker.request(
            family_id=decision.family_id,
            label=decision.label,
            scope=required_scope,
            operation=operation,
            summary=clean_summary(summary, f"{operation} ({required_scope})"),
            on_created=on_pending,
        )
        base = replace(decision, code=None, approval=approval)
        if approval.approved:
            # The family may have been revoked while the person was deciding.
            try:
                self.authenticate(token)
            except TokenError as exc:
                return record(replace(base, code=exc.code), required_scope, operation)
            return record(replace(base, allowed=True), required_scope, operation)
        return record(replace(base, code="scope_denied", detail=approval.reason), required_scope, operation)

    def _record(self, decision: Decision, scope: str, operation: str) -> Decision:
        fields: dict[str, Any] = {
            "outcome": "allow" if decision.allowed else "deny",
            "scope": scope,
            "operation": operation,
            "family_id": decision.family_id,
            "token_id": decision.token_id,
        }
        if decision.code:
            fields["code"] = decision.code
        if decision.tier is not None:
            fields["tier"] = decision.tier.value
        if decision.detail:
            fields["reason"] = decision.detail
        if decision.approval is not None:
            fields["approval"] = decision.approval.reason
        try:
            self.authority.audit.append("decision", **fields)
        except AuditError:
            log.error("audit log unwritable; refusing the request (%s %s)", operation, scope)
            decision = Decision(
                False,
                "audit_unavailable",
                family_id=decision.family_id,
                label=decision.label,
                token_id=decision.token_id,
            )
        for observer in self.observers:
            observer(decision, scope, operation)
        return decision

    def _observe(self, decision: Decision, scope: str, operation: str) -> Decision:
        for observer in self.observers:
            observer(decision, scope, operation)
        return decision

    def flush_last_used(self) -> None:
        """Write batched last-use times to the store (called periodically)."""
        pending, self.last_used = self.last_used, {}
        if pending:
            self.authority.touch(pending)

    def close(self) -> None:
        self.cache.close()
