"""The gate's decisions — allowed, tier, code — and the record each one leaves in the audit log."""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Iterator
from typing import Any

import anyio
import pytest

from auth import tokens
from auth.approvals import ApprovalBroker, PendingApproval
from auth.authority import Authority
from auth.errors import TokenExpiredError
from auth.gate import Decision, Gate
from auth.grants import Grant
from auth.scopes import Tier
from auth.tokens import TokenKind

NOW = 1_800_000_000.0
WAIT_SECONDS = 10.0
SCOPES = {"things:read": Tier.ALLOW, "things:write": Tier.PROMPT, "gpg:sign": Tier.DENY}


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def make_gate(authority: Authority, per_minute: int = 100_000) -> Gate:
    return Gate(
        authority, ApprovalBroker(authority.audit, timeout_seconds=WAIT_SECONDS), rate_limit_per_minute=per_minute
    )


@pytest.fixture
def gate(authority: Authority) -> Iterator[Gate]:
    opened = make_gate(authority)
    yield opened
    opened.close()


def last_record(authority: Authority) -> dict[str, Any]:
    lines = authority.audit.path.read_text(encoding="utf-8").splitlines()
    decisions = [entry for entry in map(json.loads, lines) if entry["event"] == "decision"]
    assert decisions, "the decision left no record"
    return decisions[-1]


def decision_records(authority: Authority) -> int:
    lines = authority.audit.path.read_text(encoding="utf-8").splitlines()
    return sum(1 for line in lines if json.loads(line)["event"] == "decision")


def assert_decision(decision: Decision, allowed: bool, tier: Tier | None, code: str | None) -> None:
    assert (decision.allowed, decision.tier, decision.code) == (allowed, tier, code), decision


def test_an_allowed_scope_is_allowed_and_recorded_as_allow(authority: Authority, gate: Gate) -> None:
    issued = authority.create_family(SCOPES, label="notes", now=NOW)

    decision = gate.check(issued.access_token, "things:read", operation="list_todos", now=NOW + 1)

    assert_decision(decision, True, Tier.ALLOW, None)
    assert (decision.family_id, decision.label) == (issued.family_id, "notes")
    record = last_record(authority)
    assert record["outcome"] == "allow" and record["scope"] == "things:read" and record["tier"] == "allow"
    assert record["target"] == "list_todos" and record["family_id"] == issued.family_id
    assert record["code"] is None


def test_a_well_formed_scope_seen_for_the_first_time_is_decided_by_its_tier(authority: Authority, gate: Gate) -> None:
    fresh = f"fresh{secrets.token_hex(4)}:read"  # never checked before in this process
    issued = authority.create_family({fresh: Tier.ALLOW}, now=NOW)
    assert_decision(gate.check(issued.access_token, fresh, now=NOW + 1), True, Tier.ALLOW, None)
    assert_decision(gate.check(issued.access_token, fresh, now=NOW + 2), True, Tier.ALLOW, None)


def test_the_second_look_after_a_decision_is_taken_at_the_time_given(authority: Authority, gate: Gate) -> None:
    issued = authority.create_family(SCOPES, access_ttl_seconds=60, now=NOW)
    principal = gate.authenticate(issued.access_token, NOW + 1)
    assert gate.recheck_while_deciding(principal, NOW + 59).family_id == issued.family_id
    with pytest.raises(TokenExpiredError):
        gate.recheck_while_deciding(principal, NOW + 60)


@pytest.mark.parametrize(
    ("scope", "tier"), [("gpg:sign", Tier.DENY), ("things:delete", Tier.DENY), ("things:read:todo", Tier.DENY)]
)
def test_a_denied_or_absent_scope_is_scope_denied_and_recorded(
    authority: Authority, gate: Gate, scope: str, tier: Tier
) -> None:
    issued = authority.create_family(SCOPES, now=NOW)

    decision = gate.check(issued.access_token, scope, now=NOW + 1)

    assert_decision(decision, False, tier, "scope_denied")
    record = last_record(authority)
    assert (record["outcome"], record["scope"], record["code"], record["tier"]) == (
        "deny",
        scope,
        "scope_denied",
        "deny",
    )


def test_a_malformed_scope_is_scope_denied_before_the_token_is_looked_at(authority: Authority, gate: Gate) -> None:
    decision = gate.check("not a token", "Things:Read", now=NOW)
    assert_decision(decision, False, None, "scope_denied")
    assert decision.detail == "malformed scope"
    record = last_record(authority)
    assert (record["outcome"], record["code"], record["scope"]) == ("deny", "scope_denied", "Things:Read")


def test_a_validly_signed_token_whose_id_is_not_in_the_store_is_invalid_token(authority: Authority, gate: Gate) -> None:
    stranger, _ = tokens.mint(TokenKind.ACCESS, authority.keys.signing)

    decision = gate.check(stranger, "things:read", now=NOW)

    assert_decision(decision, False, None, "invalid_token")
    assert decision.family_id is None
    record = last_record(authority)
    assert (record["outcome"], record["code"]) == ("deny", "invalid_token")


@pytest.mark.parametrize("token", [None, 12, "", "aa_" + "0" * 97])
def test_a_token_of_the_wrong_type_or_shape_is_invalid_token(authority: Authority, gate: Gate, token: Any) -> None:
    assert_decision(gate.check(token, "things:read", now=NOW), False, None, "invalid_token")
    assert last_record(authority)["code"] == "invalid_token"


def test_an_expired_and_a_revoked_token_are_refused_with_their_codes(authority: Authority, gate: Gate) -> None:
    issued = authority.create_family(SCOPES, access_ttl_seconds=60, now=NOW)
    assert_decision(gate.check(issued.access_token, "things:read", now=NOW + 60), False, None, "token_expired")
    assert last_record(authority)["code"] == "token_expired"
    authority.revoke_family(issued.family_id)
    assert_decision(gate.check(issued.access_token, "things:read", now=NOW + 1), False, None, "token_revoked")
    assert last_record(authority)["code"] == "token_revoked"


def test_a_refresh_token_cannot_be_used_as_an_access_token(authority: Authority, gate: Gate) -> None:
    issued = authority.create_family(SCOPES, now=NOW)
    assert_decision(gate.check(issued.refresh_token, "things:read", now=NOW + 1), False, None, "invalid_token")


def test_a_wait_under_a_second_still_refuses_with_its_retry_after(authority: Authority) -> None:
    """120 a minute is one every half second: a request 0.25 s after the bucket emptied must wait 0.25 s."""
    gate = make_gate(authority, per_minute=120)
    try:
        issued = authority.create_family(SCOPES, now=NOW)
        for _ in range(120):
            assert gate.check(issued.access_token, "things:read", now=NOW + 1).allowed
        decision = gate.check(issued.access_token, "things:read", now=NOW + 1.25)
        assert_decision(decision, False, Tier.ALLOW, "rate_limited")
        assert decision.retry_after_seconds == pytest.approx(0.25)
        assert (last_record(authority)["outcome"], last_record(authority)["code"]) == ("deny", "rate_limited")
        assert gate.check(issued.access_token, "things:read", now=NOW + 1.5).allowed
    finally:
        gate.close()


def test_a_denied_scope_is_not_charged_to_the_rate_limit(authority: Authority) -> None:
    gate = make_gate(authority, per_minute=1)
    try:
        issued = authority.create_family(SCOPES, now=NOW)
        for _ in range(3):
            assert gate.check(issued.access_token, "gpg:sign", now=NOW + 1).code == "scope_denied"
        assert gate.check(issued.access_token, "things:read", now=NOW + 1).allowed
    finally:
        gate.close()


def test_a_prompt_scope_needs_approval_and_check_alone_records_nothing(authority: Authority, gate: Gate) -> None:
    issued = authority.create_family(SCOPES, now=NOW)
    before = decision_records(authority)
    decision = gate.check(issued.access_token, "things:write", now=NOW + 1)
    assert_decision(decision, False, Tier.PROMPT, "approval_required")
    assert decision.needs_approval
    assert decision_records(authority) == before


class Person:
    """A fake human: decides every prompt it is shown, the way ``answer`` says."""

    name = "person"

    def __init__(self, answer: str, authority: Authority | None = None) -> None:
        self.answer = answer
        self.authority = authority
        self.family_to_revoke: str | None = None

    async def present(self, approval: PendingApproval, broker: ApprovalBroker) -> None:
        if self.family_to_revoke is not None and self.authority is not None:
            self.authority.revoke_family(self.family_to_revoke)
        if self.answer == "deny":
            broker.decide(approval.id, approved=False, decided_by="person")
        elif self.answer == "timed":
            broker.decide(approval.id, approved=True, grant="timed", duration_minutes=5, decided_by="person")
        else:
            broker.decide(approval.id, approved=True, decided_by="person")


async def authorize(gate: Gate, token: str, scope: str = "things:write") -> Decision:
    with anyio.fail_after(WAIT_SECONDS):
        return await gate.authorize(token, scope, operation="add_todo", summary="add 'milk'")


@pytest.mark.anyio
async def test_a_prompt_a_person_approves_is_allowed_and_recorded_with_the_approval(
    authority: Authority, gate: Gate
) -> None:
    issued = authority.create_family(SCOPES)
    gate.broker.add_channel(Person("once"))

    decision = await authorize(gate, issued.access_token)

    assert_decision(decision, True, Tier.PROMPT, None)
    assert decision.approval is not None and decision.approval.reason == "approved"
    record = last_record(authority)
    assert (record["outcome"], record["tier"], record["reason"]) == ("allow", "prompt", "approved")
    assert record["code"] is None


@pytest.mark.anyio
async def test_a_prompt_a_person_denies_is_refused_with_a_code_and_recorded(authority: Authority, gate: Gate) -> None:
    issued = authority.create_family(SCOPES)
    gate.broker.add_channel(Person("deny"))

    decision = await authorize(gate, issued.access_token)

    assert_decision(decision, False, Tier.PROMPT, "scope_denied")
    assert decision.detail == "denied"
    assert decision.approval is not None and decision.approval.approved is False
    record = last_record(authority)
    assert (record["outcome"], record["code"], record["reason"]) == ("deny", "scope_denied", "denied")


@pytest.mark.anyio
async def test_a_timed_grant_allows_the_next_call_without_asking(authority: Authority, gate: Gate) -> None:
    issued = authority.create_family(SCOPES)
    gate.broker.add_channel(Person("timed"))
    assert (await authorize(gate, issued.access_token)).allowed

    decision = gate.check(issued.access_token, "things:write", operation="add_todo")

    assert_decision(decision, True, Tier.PROMPT, None)
    assert decision.detail == "timed_grant"
    assert (last_record(authority)["outcome"], last_record(authority)["reason"]) == ("allow", "timed_grant")


@pytest.mark.anyio
@pytest.mark.parametrize("operation", ["validate", "/agent-auth/v1/manage/families"])
async def test_a_timed_grant_never_covers_a_check_of_another_route(
    authority: Authority, gate: Gate, operation: str
) -> None:
    """The one-shot check names its route: a grant given on one route is no wildcard for the others."""
    issued = authority.create_family(SCOPES)
    gate.broker.add_channel(Person("timed"))
    assert (await authorize(gate, issued.access_token)).allowed  # granted on the rest route add_todo

    decision = gate.check(issued.access_token, "things:write", operation=operation)

    assert (decision.allowed, decision.code) == (False, "approval_required")


def test_a_grant_covers_no_call_that_names_no_surface_or_target() -> None:
    grant = Grant("gr_1", "fam", None, "things:write", "rest", "validate", expires_at=2.0, deadline=2.0)
    assert grant.covers("fam", "things:write", "rest", "validate")
    assert not grant.covers("fam", "things:write", None, "validate")
    assert not grant.covers("fam", "things:write", "rest", None)
    assert not grant.covers("fam", "things:write", None, None)


@pytest.mark.anyio
async def test_a_family_revoked_while_the_person_decides_is_refused_after_approval(
    authority: Authority, gate: Gate
) -> None:
    issued = authority.create_family(SCOPES)
    person = Person("once", authority)
    person.family_to_revoke = issued.family_id
    gate.broker.add_channel(person)

    decision = await authorize(gate, issued.access_token)

    assert_decision(decision, False, Tier.PROMPT, "token_revoked")
    assert decision.approval is not None and decision.approval.approved
    assert (last_record(authority)["outcome"], last_record(authority)["code"]) == ("deny", "token_revoked")


def test_an_allowed_call_whose_record_cannot_be_written_is_refused(authority: Authority, gate: Gate) -> None:
    issued = authority.create_family(SCOPES, now=NOW)
    full = os.open("/dev/full", os.O_WRONLY)  # every write now fails with ENOSPC, as on a full disk
    try:
        os.dup2(full, authority.audit._fd)
    finally:
        os.close(full)

    decision = gate.check(issued.access_token, "things:read", now=NOW + 1)

    assert_decision(decision, False, None, "audit_unavailable")
    assert decision.family_id == issued.family_id
    # The refusal still names who asked (for the caller's error and the daemon's log).
    assert (decision.label, decision.token_id) == (issued.label, tokens.parse(issued.access_token).token_id)
