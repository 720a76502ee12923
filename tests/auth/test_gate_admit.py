"""The gate's edge API: decide(identity, scope) and admit(...) — decisions, who they name, and their one record."""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Iterator
from typing import Any

import anyio
import pytest

from auth import tokens
from auth.approvals import ApprovalBroker, PendingApproval
from auth.authority import Authority
from auth.decision_record import RECORD_FIELDS
from auth.gate import Decision, FamilyCache, Gate, request_digest
from auth.prepared import prepare
from auth.principal import Principal, Unauthenticated
from auth.scopes import Tier

NOW = 1_800_000_000.0
WAIT_SECONDS = 10.0
SCOPES = {"things:read": Tier.ALLOW, "things:write": Tier.PROMPT, "gpg:sign": Tier.DENY}


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def gate(authority: Authority) -> Iterator[Gate]:
    opened = Gate(authority, ApprovalBroker(authority.audit, timeout_seconds=WAIT_SECONDS), rate_limit_per_minute=2)
    yield opened
    opened.close()


def principal_of(gate: Gate, authority: Authority, label: str = "notes") -> Principal:
    issued = authority.create_family(SCOPES, label=label, now=NOW)
    return gate.authenticate(issued.access_token, NOW + 1)


def records(authority: Authority) -> list[dict[str, Any]]:
    lines = authority.audit.path.read_text(encoding="utf-8").splitlines()
    return [entry for entry in map(json.loads, lines) if entry["event"] == "decision"]


def who(decision: Decision) -> tuple[str | None, str | None, str | None]:
    return decision.family_id, decision.label, decision.token_id


def test_the_principal_carries_the_tokens_expiry_and_family(authority: Authority, gate: Gate) -> None:
    issued = authority.create_family(SCOPES, label="notes", access_ttl_seconds=600, now=NOW)
    principal = gate.authenticate(issued.access_token, NOW + 1)
    assert (principal.family_id, principal.label, principal.expires_at) == (issued.family_id, "notes", NOW + 600)
    assert principal.tier("things:write") is Tier.PROMPT


def test_a_malformed_scope_is_refused_and_names_the_principal(authority: Authority, gate: Gate) -> None:
    principal = principal_of(gate, authority)
    decision = gate.decide(principal, "Things:Read", now=NOW + 1)
    assert (decision.allowed, decision.code, decision.tier, decision.detail) == (
        False,
        "scope_denied",
        None,
        "malformed scope",
    )
    assert who(decision) == (principal.family_id, "notes", principal.token_id)


def test_an_unauthenticated_identity_keeps_its_code_and_detail(gate: Gate) -> None:
    decision = gate.decide(Unauthenticated("token_expired", "expired at noon"), "things:read", now=NOW)
    assert (decision.allowed, decision.code, decision.detail, decision.family_id) == (
        False,
        "token_expired",
        "expired at noon",
        None,
    )
    malformed = gate.decide(Unauthenticated("invalid_token"), "Bad", now=NOW)
    assert (malformed.code, malformed.detail) == ("scope_denied", "malformed scope")


def test_each_decision_names_who_asked(authority: Authority, gate: Gate) -> None:
    principal = principal_of(gate, authority)
    expected = (principal.family_id, "notes", principal.token_id)
    denied = gate.decide(principal, "gpg:sign", now=NOW + 1)
    assert (denied.allowed, denied.code, denied.tier) == (False, "scope_denied", Tier.DENY)
    assert who(denied) == expected
    prompt = gate.decide(principal, "things:write", now=NOW + 1)
    assert (prompt.allowed, prompt.code, prompt.tier) == (False, "approval_required", Tier.PROMPT)
    assert who(prompt) == expected
    assert gate.decide(principal, "things:read", now=NOW + 1).allowed  # the prompt took the first of two
    limited = gate.decide(principal, "things:read", now=NOW + 1)
    assert (limited.allowed, limited.code, limited.tier) == (False, "rate_limited", Tier.ALLOW)
    assert who(limited) == expected and limited.retry_after_seconds == pytest.approx(30.0)


def test_a_tool_without_a_scope_is_allowed_at_the_allow_tier_and_still_charged(
    authority: Authority, gate: Gate
) -> None:
    principal = principal_of(gate, authority)
    first = gate.decide(principal, None, now=NOW + 1)
    assert (first.allowed, first.code, first.tier) == (True, None, Tier.ALLOW)
    assert who(first) == (principal.family_id, "notes", principal.token_id)
    gate.decide(principal, None, now=NOW + 1)
    assert gate.decide(principal, None, now=NOW + 1).code == "rate_limited"


def test_the_rate_limit_is_kept_per_family(authority: Authority, gate: Gate) -> None:
    one, two = principal_of(gate, authority, "one"), principal_of(gate, authority, "two")
    assert gate.decide(one, "things:read", now=NOW + 1).allowed
    assert gate.decide(one, "things:read", now=NOW + 1).allowed
    assert gate.decide(one, "things:read", now=NOW + 1).code == "rate_limited"
    assert gate.decide(two, "things:read", now=NOW + 1).allowed
    assert set(gate.last_used) == {one.family_id, two.family_id}


def test_a_timed_grant_decision_names_who_asked(authority: Authority, gate: Gate) -> None:
    principal = principal_of(gate, authority)
    gate.broker.grant_book.add(
        family_id=principal.family_id,
        label=None,
        scope="things:write",
        surface="rest",
        target="validate",
        seconds=600,
        now=NOW,
    )
    decision = gate.decide(principal, "things:write", now=NOW + 1, surface="rest", target="validate")
    assert (decision.allowed, decision.detail, decision.tier) == (True, "timed_grant", Tier.PROMPT)
    assert who(decision) == (principal.family_id, "notes", principal.token_id)


def test_the_one_record_of_a_call_has_every_field(authority: Authority, gate: Gate) -> None:
    principal = principal_of(gate, authority)
    seen: list[tuple[str | None, str, str]] = []
    gate.observers.append(lambda d, scope, target: seen.append((d.code, scope, target)))
    decision = gate.decide(principal, "gpg:sign", now=NOW + 1)
    recorded = gate.record_decision(decision, surface="mcp", target="gpg_sign", scope="gpg:sign", digest="d" * 64)
    [record] = records(authority)
    assert set(RECORD_FIELDS) <= set(record)
    assert recorded.call_id is not None and record["call_id"] == recorded.call_id
    assert {k: record[k] for k in ("surface", "target", "scope", "tier", "outcome", "code", "reason", "digest")} == {
        "surface": "mcp",
        "target": "gpg_sign",
        "scope": "gpg:sign",
        "tier": "deny",
        "outcome": "deny",
        "code": "scope_denied",
        "reason": "scope_denied",
        "digest": "d" * 64,
    }
    assert (record["family_id"], record["label"], record["token_id"]) == who(decision)
    assert record["result"] == "refused" and record["approval_id"] is None and record["latency_ms"] == 0.0
    gate.record_decision(gate.decide(principal, None, now=NOW + 1), surface="mcp", target="whoami", scope=None)
    assert seen == [("scope_denied", "gpg:sign", "gpg_sign"), (None, "", "whoami")]
    assert records(authority)[-1]["result"] == "admitted"


def test_check_records_on_the_rest_surface_under_its_operation(authority: Authority, gate: Gate) -> None:
    issued = authority.create_family(SCOPES, now=NOW)
    gate.check(issued.access_token, "things:read", now=NOW + 1)
    gate.check(issued.access_token, "Bad:Scope", operation="route", now=NOW + 1)
    gate.check(12, "things:read", now=NOW + 1)  # type: ignore[arg-type]
    allowed, malformed, not_a_string = records(authority)
    assert (allowed["surface"], allowed["target"], allowed["outcome"]) == ("rest", "validate", "allow")
    assert (malformed["target"], malformed["code"], malformed["family_id"]) == ("route", "scope_denied", None)
    assert (not_a_string["code"], not_a_string["reason"]) == ("invalid_token", "invalid_token")


def test_check_of_a_prompt_scope_writes_no_record(authority: Authority, gate: Gate) -> None:
    issued = authority.create_family(SCOPES, now=NOW)
    assert gate.check(issued.access_token, "things:write", now=NOW + 1).needs_approval
    assert records(authority) == []


class Person:
    name = "person"

    def __init__(self, approve: bool) -> None:
        self.approve = approve
        self.shown: list[PendingApproval] = []

    async def present(self, approval: PendingApproval, broker: ApprovalBroker) -> None:
        self.shown.append(approval)
        broker.decide(approval.id, approved=self.approve, decided_by="person")


@pytest.mark.anyio
async def test_admit_records_the_approval_and_the_digest(authority: Authority, gate: Gate) -> None:
    principal = principal_of(gate, authority)
    person = Person(approve=True)
    gate.broker.add_channel(person)
    pending: list[str] = []

    async def on_pending(approval: PendingApproval) -> None:
        pending.append(approval.id)

    with anyio.fail_after(WAIT_SECONDS):
        decision = await gate.admit(
            principal,
            "things:write",
            surface="mcp",
            target="add_todo",
            digest="e" * 64,
            summary=lambda: "add milk",
            on_pending=on_pending,
        )
    assert pending == [person.shown[0].id]
    assert (decision.allowed, decision.code, decision.detail, decision.tier) == (True, None, "approved", Tier.PROMPT)
    assert person.shown[0].summary == "add milk" and person.shown[0].operation == "add_todo"
    [record] = records(authority)
    assert (record["outcome"], record["reason"], record["digest"], record["surface"]) == (
        "allow",
        "approved",
        "e" * 64,
        "mcp",
    )
    assert record["approval_id"] == decision.approval.approval_id and record["approval_id"] is not None  # type: ignore[union-attr]
    assert record["call_id"] == decision.call_id
    assert (record["target"], record["scope"], record["tier"], record["label"]) == (
        "add_todo",
        "things:write",
        "prompt",
        "notes",
    )
    assert record["latency_ms"] > 0


@pytest.mark.anyio
async def test_admit_of_a_denied_prompt_records_the_persons_answer(authority: Authority, gate: Gate) -> None:
    principal = principal_of(gate, authority)
    gate.broker.add_channel(Person(approve=False))
    with anyio.fail_after(WAIT_SECONDS):
        decision = await gate.admit(principal, "things:write", surface="mcp", target="add_todo", summary="add milk")
    assert (decision.allowed, decision.code, decision.detail) == (False, "scope_denied", "denied")
    [record] = records(authority)
    assert (record["outcome"], record["code"], record["reason"], record["result"]) == (
        "deny",
        "scope_denied",
        "denied",
        "refused",
    )


@pytest.mark.anyio
async def test_a_call_cancelled_while_a_person_decides_is_recorded_as_cancelled(
    authority: Authority, gate: Gate
) -> None:
    principal = principal_of(gate, authority)
    shown = anyio.Event()
    asked: list[str] = []

    class Watcher:
        name = "watcher"

        async def present(self, approval: PendingApproval, broker: ApprovalBroker) -> None:
            asked.append(approval.id)
            shown.set()

    gate.broker.add_channel(Watcher())
    async with anyio.create_task_group() as tg:

        async def call() -> None:
            await gate.admit(principal, "things:write", surface="mcp", target="add_todo", digest="f" * 64)

        tg.start_soon(call)
        with anyio.fail_after(WAIT_SECONDS):
            await shown.wait()
        tg.cancel_scope.cancel()
    [record] = records(authority)
    assert (record["outcome"], record["code"], record["reason"], record["digest"], record["target"]) == (
        "deny",
        "cancelled",
        "cancelled",
        "f" * 64,
        "add_todo",
    )
    assert (record["surface"], record["scope"], record["tier"], record["family_id"]) == (
        "mcp",
        "things:write",
        "prompt",
        principal.family_id,
    )
    assert record["latency_ms"] > 0
    # The record points at the approval the call waited on, which is withdrawn: approving it runs nothing.
    assert record["approval_id"] == asked[0]
    assert gate.broker.history[0]["id"] == asked[0] and gate.broker.history[0]["status"] == "withdrawn"


@pytest.mark.anyio
async def test_a_timed_grant_given_on_one_surface_and_target_admits_the_next_identical_call_there_only(
    authority: Authority, gate: Gate
) -> None:
    principal = principal_of(gate, authority)
    person = Person(approve=True)

    class TimedPerson:
        name = "person"

        async def present(self, approval: PendingApproval, broker: ApprovalBroker) -> None:
            person.shown.append(approval)
            broker.decide(approval.id, approved=True, grant="timed", duration_minutes=5, decided_by="person")

    gate.broker.add_channel(TimedPerson())
    prepared = prepare("add_todo", "Add the to-do 'milk'", [("title", "milk")], {"title": "milk"})
    started = time.perf_counter() - 0.5
    with anyio.fail_after(WAIT_SECONDS):
        first = await gate.admit(
            principal, "things:write", surface="mcp", target="add_todo", prepared=prepared, started=started
        )
        again = await gate.admit(principal, "things:write", surface="mcp", target="add_todo", prepared=prepared)
    assert (first.allowed, first.detail, again.allowed, again.detail) == (True, "approved", True, "timed_grant")
    (shown,) = person.shown
    assert (shown.label, shown.digest, shown.summary) == ("notes", prepared.digest, "Add the to-do 'milk'")
    assert shown.details == prepared.details()
    first_record, again_record = records(authority)
    assert (first_record["digest"], again_record["digest"]) == (prepared.digest, prepared.digest)
    assert (again_record["reason"], again_record["approval_id"]) == ("timed_grant", None)
    assert first_record["latency_ms"] >= 500  # counted from when the call started, not from the decision
    # Another surface or target is not covered by the grant.
    now = gate.clock()
    assert gate.broker.active_grant(principal.family_id, "things:write", now, surface="mcp", target="add_todo")
    for surface, target in [("rest", "add_todo"), ("mcp", "add_project")]:
        assert (
            gate.broker.active_grant(principal.family_id, "things:write", now, surface=surface, target=target) is None
        )


@pytest.mark.anyio
async def test_a_caller_who_goes_away_while_a_person_decides_is_withdrawn(authority: Authority, gate: Gate) -> None:
    principal = principal_of(gate, authority)
    gone = anyio.Event()

    class Watcher:
        name = "watcher"

        async def present(self, approval: PendingApproval, broker: ApprovalBroker) -> None:
            gone.set()

    gate.broker.add_channel(Watcher())
    with anyio.fail_after(WAIT_SECONDS):
        decision = await gate.admit(principal, "things:write", surface="mcp", target="add_todo", caller_gone=gone)
    assert (decision.allowed, decision.code, decision.detail) == (False, "scope_denied", "withdrawn")
    [record] = records(authority)
    assert (record["code"], record["reason"]) == ("scope_denied", "withdrawn")


def result_entries(authority: Authority) -> list[dict[str, Any]]:
    lines = authority.audit.path.read_text(encoding="utf-8").splitlines()
    return [entry for entry in map(json.loads, lines) if entry["event"] == "call.result"]


def test_the_result_of_an_admitted_call_is_recorded_under_its_call_id(authority: Authority, gate: Gate) -> None:
    principal = principal_of(gate, authority)
    admitted = gate.record_decision(
        gate.decide(principal, "things:read", now=NOW + 1), surface="mcp", target="list_todos", scope="things:read"
    )
    assert gate.record_result(admitted, "ok", started=time.perf_counter() - 0.5, items=3, note=None)
    assert gate.record_result(admitted, "error")
    ok, error = result_entries(authority)
    assert (ok["call_id"], ok["result"], ok["items"]) == (admitted.call_id, "ok", 3)
    assert "note" not in ok and 500 <= ok["latency_ms"] < 60_000  # milliseconds since the call started
    assert (error["call_id"], error["result"], error["latency_ms"]) == (admitted.call_id, "error", 0.0)


def test_a_result_that_cannot_be_recorded_says_so(authority: Authority, gate: Gate) -> None:
    principal = principal_of(gate, authority)
    admitted = gate.record_decision(
        gate.decide(principal, "things:read", now=NOW + 1), surface="mcp", target="list_todos", scope="things:read"
    )
    full = os.open("/dev/full", os.O_WRONLY)
    try:
        os.dup2(full, authority.audit._fd)
    finally:
        os.close(full)
    assert gate.record_result(admitted, "ok") is False


def test_the_request_digest_covers_target_and_every_argument_in_any_order() -> None:
    digest = request_digest("add_todo", {"title": "milk", "tags": ["a", "b"]})
    assert digest == request_digest("add_todo", {"tags": ["a", "b"], "title": "milk"})
    canonical = b'{"arguments":{"tags":["a","b"],"title":"milk"},"target":"add_todo"}'
    assert digest == hashlib.sha256(canonical).hexdigest()
    assert digest != request_digest("add_project", {"title": "milk", "tags": ["a", "b"]})
    assert digest != request_digest("add_todo", {"title": "milk", "tags": ["b", "a"]})
    assert request_digest("t", {"when": NOW}) == request_digest("t", {"when": NOW})


def test_last_use_is_batched_and_flushed_to_the_store(authority: Authority, gate: Gate) -> None:
    principal = principal_of(gate, authority)
    assert gate.decide(principal, "things:read", now=NOW + 5).allowed
    assert authority.get_family(principal.family_id).last_used_at is None
    gate.flush_last_used()
    assert authority.get_family(principal.family_id).last_used_at == NOW + 5
    assert gate.last_used == {}


def test_identify_says_why_there_is_no_principal(authority: Authority, gate: Gate) -> None:
    assert gate.identify(None) == Unauthenticated("missing_token")
    issued = authority.create_family(SCOPES, access_ttl_seconds=60, now=NOW)
    assert gate.identify(issued.access_token, NOW + 61) == Unauthenticated("token_expired", None)
    forged = issued.access_token[:-1] + ("1" if issued.access_token.endswith("0") else "0")
    assert gate.identify(forged, NOW) == Unauthenticated("invalid_token", "signature mismatch")
    principal = gate.identify(issued.access_token, NOW + 1)
    assert isinstance(principal, Principal) and principal.family_id == issued.family_id


@pytest.mark.anyio
async def test_authorize_asks_with_the_summary_and_records_on_the_rest_surface(
    authority: Authority, gate: Gate
) -> None:
    issued = authority.create_family(SCOPES, now=NOW)
    person = Person(approve=True)
    gate.broker.add_channel(person)
    pending: list[str] = []

    async def on_pending(approval: PendingApproval) -> None:
        pending.append(approval.operation)

    with anyio.fail_after(WAIT_SECONDS):
        decision = await gate.authorize(
            issued.access_token, "things:write", operation="/things/add", summary="add milk", on_pending=on_pending
        )
    assert decision.allowed and pending == ["/things/add"]
    assert person.shown[0].summary == "add milk"
    [record] = records(authority)
    assert (record["surface"], record["target"], record["outcome"]) == ("rest", "/things/add", "allow")


def test_a_cache_of_one_entry_still_works(authority: Authority) -> None:
    cache = FamilyCache(authority, max_entries=1)
    try:
        first, second = (authority.create_family(SCOPES, now=NOW) for _ in range(2))
        for issued in (first, second, first):
            state = cache.token(tokens.parse(issued.access_token).token_id)
            assert state is not None and state.family_id == issued.family_id
            assert cache.size[0] == 1
    finally:
        cache.close()
