"""The approvals broker deciding requests: identical calls joining one approval, limits, timeouts, callers who
go away, what a person's decision becomes, and the audit record each outcome leaves (real audit log file)."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import anyio
import pytest
from auth_test_support import T0, Clocks

from auth.approvals import MAX_GRANT_MINUTES, ApprovalBroker, ApprovalChangedError, ApprovalDecision, PendingApproval
from auth.audit import AuditLog
from auth.prepared import PreparedRequest, prepare

pytestmark = pytest.mark.anyio
WAIT_SECONDS = 10.0


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def clocks() -> Clocks:
    return Clocks()


@pytest.fixture
def audit(tmp_path: Path) -> Iterator[AuditLog]:
    log = AuditLog(tmp_path / "state" / "audit.log", b"k" * 32)
    yield log
    log.close()


@pytest.fixture
def make_broker(audit: AuditLog, clocks: Clocks) -> Callable[..., ApprovalBroker]:
    def make(**kwargs: Any) -> ApprovalBroker:
        return ApprovalBroker(
            audit,
            timeout_seconds=kwargs.pop("timeout_seconds", WAIT_SECONDS),
            clock=lambda: clocks.wall,
            monotonic=lambda: clocks.mono,
            **kwargs,
        )

    return make


@pytest.fixture
def broker(make_broker: Callable[..., ApprovalBroker]) -> ApprovalBroker:
    return make_broker()


def records(audit: AuditLog, event: str) -> list[dict[str, Any]]:
    lines = [json.loads(line) for line in audit.path.read_text(encoding="utf-8").splitlines()]
    return [{k: v for k, v in e.items() if k not in {"seq", "ts", "prev", "mac"}} for e in lines if e["event"] == event]


def todo(title: str, claim: str | None = None) -> PreparedRequest:
    return prepare("add_todo", f"Add the to-do {title!r}", [("title", title)], {"title": title}, caller_claim=claim)


async def until(condition: Callable[[], bool]) -> None:
    with anyio.fail_after(WAIT_SECONDS):
        while not condition():
            await anyio.sleep(0)


class Caller:
    """One agent call waiting on the broker; ``gone`` is set when its client goes away."""

    def __init__(self, broker: ApprovalBroker, **request: Any) -> None:
        self.broker = broker
        self.request = {
            "family_id": "fam_1",
            "label": "notes",
            "scope": "things:write",
            "operation": "add_todo",
            "summary": "add 'milk'",
            **request,
        }
        self.gone = anyio.Event()
        self.decision: ApprovalDecision | None = None

    async def __call__(self) -> None:
        self.decision = await self.broker.request(**self.request, caller_gone=self.gone)


def waiters(broker: ApprovalBroker) -> list[int]:
    return [p.waiters for p in broker.pending()]


async def test_identical_calls_wait_on_one_approval_and_share_its_decision(
    broker: ApprovalBroker, audit: AuditLog
) -> None:
    heard: list[tuple[str, int, str]] = []
    broker.subscribe(lambda kind, data: heard.append((kind, data["waiters"], data["status"])))
    first, second = Caller(broker, prepared=todo("milk")), Caller(broker, prepared=todo("milk"))

    async with anyio.create_task_group() as tg:
        tg.start_soon(first)
        await until(lambda: waiters(broker) == [1])
        tg.start_soon(second)
        await until(lambda: waiters(broker) == [2])
        broker.decide(broker.pending()[0].id, approved=True, decided_by="tui", seen_waiters=2)

    assert first.decision is not None and second.decision is not None
    assert first.decision == second.decision
    assert (first.decision.approved, first.decision.reason, first.decision.grant) == (True, "approved", "once")
    assert heard == [
        ("approval.created", 1, "pending"),
        ("approval.updated", 2, "pending"),
        ("approval.decided", 2, "approved"),
    ]
    assert len(records(audit, "approval.requested")) == 1
    assert [r["approval_id"] for r in records(audit, "approval.decided")] == [first.decision.approval_id]


@pytest.mark.parametrize(
    "other",
    [
        {"family_id": "fam_2"},  # the same request from another family
        {"prepared": todo("eggs")},  # another request with the same summary
        {"prepared": None, "scope": "things:read"},
        {"prepared": None, "operation": "add_project"},
        {"prepared": None, "summary": "add 'eggs'"},
    ],
)
async def test_a_call_that_is_not_identical_gets_its_own_approval(
    broker: ApprovalBroker, other: dict[str, Any]
) -> None:
    base: dict[str, Any] = {"prepared": todo("milk") if other.get("prepared", 0) is not None else None}
    callers = [Caller(broker, **base), Caller(broker, **{**base, **other})]
    async with anyio.create_task_group() as tg:
        for caller in callers:
            tg.start_soon(caller)
        await until(lambda: sum(waiters(broker)) == 2)
        assert waiters(broker) == [1, 1]
        broker.close()


async def test_identical_calls_without_a_prepared_request_join_by_scope_operation_and_summary(
    broker: ApprovalBroker,
) -> None:
    callers = [Caller(broker), Caller(broker)]
    async with anyio.create_task_group() as tg:
        for caller in callers:
            tg.start_soon(caller)
        await until(lambda: waiters(broker) == [2])
        broker.decide(broker.pending()[0].id, approved=False, decided_by="tui")
    assert [(c.decision.approved, c.decision.reason) for c in callers if c.decision] == [(False, "denied")] * 2


async def test_a_prepared_request_is_shown_and_audited_with_its_digest_and_the_callers_claim(
    broker: ApprovalBroker, audit: AuditLog
) -> None:
    prepared = todo("milk", claim="the user asked for this")
    caller = Caller(broker, prepared=prepared, surface="mcp")
    async with anyio.create_task_group() as tg:
        tg.start_soon(caller)
        await until(lambda: waiters(broker) == [1])
        shown = broker.pending()[0].to_json()
        broker.close()
    assert (shown["digest"], shown["surface"], shown["claim"]) == (prepared.digest, "mcp", "the user asked for this")
    assert shown["details"] == [{"label": "title", "value": "milk", "truncated": 0}]
    assert records(audit, "approval.requested") == [
        {
            "event": "approval.requested",
            "approval_id": shown["id"],
            "family_id": "fam_1",
            "scope": "things:write",
            "operation": "add_todo",
            "summary": "add 'milk'",
            "digest": prepared.digest,
            "claim": "the user asked for this",
        }
    ]


async def test_one_identical_call_too_many_is_refused_and_audited_against_the_approval(
    make_broker: Callable[..., ApprovalBroker], audit: AuditLog
) -> None:
    broker = make_broker(max_waiters=2)
    joined = [Caller(broker), Caller(broker)]
    async with anyio.create_task_group() as tg:
        for caller in joined:
            tg.start_soon(caller)
        await until(lambda: waiters(broker) == [2])
        approval_id = broker.pending()[0].id
        refused = await broker.request(
            family_id="fam_1", label="notes", scope="things:write", operation="add_todo", summary="add 'milk'"
        )
        assert (refused.approved, refused.reason) == (False, "too_many_pending")
        assert waiters(broker) == [2]
        broker.decide(approval_id, approved=True, decided_by="tui")
    assert [c.decision.approved for c in joined if c.decision] == [True, True]
    assert [(r["approval_id"], r["reason"], r["approved"]) for r in records(audit, "approval.decided")] == [
        (approval_id, "too_many_pending", False),
        (approval_id, "approved", True),
    ]
    refused_record = records(audit, "approval.decided")[0]
    assert [refused_record[k] for k in ("family_id", "scope", "operation", "summary")] == [
        "fam_1",
        "things:write",
        "add_todo",
        "add 'milk'",
    ]


async def test_a_family_may_have_five_approvals_pending_and_other_families_are_not_held_back(
    broker: ApprovalBroker, audit: AuditLog
) -> None:
    async with anyio.create_task_group() as tg:
        for n in range(5):
            tg.start_soon(Caller(broker, summary=f"add {n}"))
        await until(lambda: len(broker.pending()) == 5)
        refused = await broker.request(
            family_id="fam_1", label="notes", scope="things:write", operation="add_todo", summary="add 5"
        )
        assert (refused.approved, refused.reason, refused.approval_id) == (False, "too_many_pending", None)
        tg.start_soon(Caller(broker, family_id="fam_2"))
        await until(lambda: len(broker.pending()) == 6)
        broker.close()
    assert records(audit, "approval.decided")[0] == {
        "event": "approval.decided",
        "approval_id": None,
        "family_id": "fam_1",
        "scope": "things:write",
        "operation": "add_todo",
        "summary": "add 5",
        "approved": False,
        "reason": "too_many_pending",
        "grant": None,
        "duration_minutes": None,
        "decided_by": None,
    }


async def test_a_request_nobody_answers_is_denied_when_it_expires(
    broker: ApprovalBroker, audit: AuditLog, clocks: Clocks
) -> None:
    async def time_passes(approval: PendingApproval) -> None:
        assert approval.expires_at == T0 + WAIT_SECONDS
        clocks.advance(WAIT_SECONDS)

    with anyio.fail_after(WAIT_SECONDS):
        decision = await broker.request(
            family_id="fam_1",
            label="notes",
            scope="things:write",
            operation="add_todo",
            summary="add 'milk'",
            on_created=time_passes,
        )
    assert (decision.approved, decision.reason, decision.grant) == (False, "timeout", None)
    assert decision.approval_id is not None
    assert broker.pending() == []
    assert broker.history[0]["status"] == "timeout"
    assert [(r["approval_id"], r["reason"], r["approved"]) for r in records(audit, "approval.decided")] == [
        (decision.approval_id, "timeout", False)
    ]
    assert broker.decide(decision.approval_id, approved=True, decided_by="tui") is None


async def test_a_caller_who_goes_away_withdraws_only_its_own_wait(broker: ApprovalBroker, audit: AuditLog) -> None:
    heard: list[tuple[str, int]] = []
    leaving, staying = Caller(broker), Caller(broker)
    async with anyio.create_task_group() as tg:
        tg.start_soon(leaving)
        tg.start_soon(staying)
        await until(lambda: waiters(broker) == [2])
        broker.subscribe(lambda kind, data: heard.append((kind, data["waiters"])))
        leaving.gone.set()
        await until(lambda: leaving.decision is not None)
        assert waiters(broker) == [1]
        assert heard == [("approval.updated", 1)]
        broker.decide(broker.pending()[0].id, approved=True, decided_by="tui", seen_waiters=1)
    assert leaving.decision is not None and staying.decision is not None
    assert (leaving.decision.approved, leaving.decision.reason) == (False, "withdrawn")
    assert leaving.decision.approval_id == staying.decision.approval_id is not None
    assert (staying.decision.approved, staying.decision.reason) == (True, "approved")
    assert [r["reason"] for r in records(audit, "approval.decided")] == ["approved"]


@pytest.mark.parametrize("how", ["client gone", "task cancelled"])
async def test_when_every_caller_has_gone_the_approval_is_withdrawn_and_approving_it_does_nothing(
    broker: ApprovalBroker, audit: AuditLog, how: str
) -> None:
    caller = Caller(broker)
    async with anyio.create_task_group() as tg:
        tg.start_soon(caller)
        await until(lambda: waiters(broker) == [1])
        approval_id = broker.pending()[0].id
        if how == "client gone":
            caller.gone.set()
        else:
            tg.cancel_scope.cancel()
    assert broker.pending() == []
    assert broker.decide(approval_id, approved=True, grant="timed", duration_minutes=5, decided_by="tui") is None
    assert broker.grants() == []
    assert broker.history[0]["id"] == approval_id and broker.history[0]["status"] == "withdrawn"
    assert [(r["approval_id"], r["reason"], r["approved"]) for r in records(audit, "approval.decided")] == [
        (approval_id, "withdrawn", False)
    ]
    if how == "client gone":
        assert caller.decision == ApprovalDecision(False, "withdrawn", approval_id=approval_id)


async def test_an_approval_is_refused_when_the_person_saw_another_number_of_waiting_calls(
    broker: ApprovalBroker,
) -> None:
    caller = Caller(broker)
    async with anyio.create_task_group() as tg:
        tg.start_soon(caller)
        await until(lambda: waiters(broker) == [1])
        approval_id = broker.pending()[0].id
        with pytest.raises(ApprovalChangedError) as excinfo:
            broker.decide(approval_id, approved=True, decided_by="tui", seen_waiters=2)
        assert excinfo.value.code == "approval_changed"
        assert waiters(broker) == [1]
        # Saying no is safe whatever the person saw.
        broker.decide(approval_id, approved=False, decided_by="tui", seen_waiters=2)
    assert caller.decision is not None and caller.decision.reason == "denied"

    again = Caller(broker)
    async with anyio.create_task_group() as tg:
        tg.start_soon(again)
        await until(lambda: waiters(broker) == [1])
        broker.decide(broker.pending()[0].id, approved=True, decided_by="tui", seen_waiters=1)
    assert again.decision is not None and again.decision.approved


async def test_deciding_an_unknown_or_finished_approval_does_nothing(broker: ApprovalBroker, audit: AuditLog) -> None:
    assert broker.decide("ap_missing", approved=True, decided_by="tui") is None
    caller = Caller(broker)
    async with anyio.create_task_group() as tg:
        tg.start_soon(caller)
        await until(lambda: waiters(broker) == [1])
        approval_id = broker.pending()[0].id
        decided = broker.decide(approval_id, approved=False, decided_by="tui")
        assert decided is not None and decided.id == approval_id
        assert broker.decide(approval_id, approved=True, decided_by="tui") is None
    assert caller.decision is not None and caller.decision.reason == "denied"
    assert len(broker.history) == 1
    assert len(records(audit, "approval.decided")) == 1


@pytest.mark.parametrize(
    ("choice", "grant", "minutes"),
    [
        ({"approved": True}, "once", None),
        ({"approved": True, "grant": "once", "duration_minutes": 30}, "once", None),
        ({"approved": True, "grant": "timed", "duration_minutes": MAX_GRANT_MINUTES}, "timed", MAX_GRANT_MINUTES),
        ({"approved": False, "grant": "timed", "duration_minutes": 30}, None, None),
        ({"approved": False}, None, None),
    ],
)
async def test_a_persons_decision_is_what_the_caller_gets_and_what_the_log_records(
    broker: ApprovalBroker, audit: AuditLog, choice: dict[str, Any], grant: str | None, minutes: int | None
) -> None:
    caller = Caller(broker)
    async with anyio.create_task_group() as tg:
        tg.start_soon(caller)
        await until(lambda: waiters(broker) == [1])
        approval_id = broker.pending()[0].id
        broker.decide(approval_id, decided_by="tui", **choice)
    approved = choice["approved"]
    assert caller.decision == ApprovalDecision(
        approved, "approved" if approved else "denied", grant, minutes, "tui", approval_id=approval_id
    )
    assert records(audit, "approval.decided") == [
        {
            "event": "approval.decided",
            "approval_id": approval_id,
            "family_id": "fam_1",
            "scope": "things:write",
            "operation": "add_todo",
            "summary": "add 'milk'",
            "approved": approved,
            "reason": "approved" if approved else "denied",
            "grant": grant,
            "duration_minutes": minutes,
            "decided_by": "tui",
        }
    ]
    expected_grants = [] if grant != "timed" else [("fam_1", "notes", "things:write", "add_todo", T0 + minutes * 60)]
    assert [(g["family_id"], g["label"], g["scope"], g["target"], g["expires_at"]) for g in broker.grants()] == (
        expected_grants
    )


async def test_the_deciding_clients_own_name_is_recorded_apart_as_a_claim(
    broker: ApprovalBroker, audit: AuditLog
) -> None:
    caller = Caller(broker)
    async with anyio.create_task_group() as tg:
        tg.start_soon(caller)
        await until(lambda: waiters(broker) == [1])
        broker.decide(broker.pending()[0].id, approved=True, decided_by="admin-socket", decided_by_claim="tui 1.0")
    (record,) = records(audit, "approval.decided")
    assert (record["decided_by"], record["decided_by_claim"]) == ("admin-socket", "tui 1.0")


async def test_every_outcome_reaches_the_outcome_hook(broker: ApprovalBroker, audit: AuditLog, clocks: Clocks) -> None:
    outcomes: list[tuple[str, bool]] = []
    broker.on_outcome = lambda decision: outcomes.append((decision.reason, decision.approved))

    async def time_passes(approval: PendingApproval) -> None:
        clocks.advance(WAIT_SECONDS)

    await broker.request(
        family_id="fam_1", label=None, scope="s:x", operation="op", summary="late", on_created=time_passes
    )
    for approved in (True, False):
        caller = Caller(broker)
        async with anyio.create_task_group() as tg:
            tg.start_soon(caller)
            await until(lambda: waiters(broker) == [1])
            broker.decide(broker.pending()[0].id, approved=approved, decided_by="tui")
    broker.max_pending_per_family = 0
    await Caller(broker)()
    broker.close()
    await Caller(broker)()
    assert outcomes == [
        ("timeout", False),
        ("approved", True),
        ("denied", False),
        ("too_many_pending", False),
        ("cancelled", False),
    ]


async def test_revoking_a_grant_ends_it_and_is_audited(broker: ApprovalBroker, audit: AuditLog) -> None:
    caller = Caller(broker, surface="mcp")
    async with anyio.create_task_group() as tg:
        tg.start_soon(caller)
        await until(lambda: waiters(broker) == [1])
        broker.decide(broker.pending()[0].id, approved=True, grant="timed", duration_minutes=10, decided_by="tui")
    (grant,) = broker.grants()
    assert broker.active_grant("fam_1", "things:write", T0, surface="mcp", target="add_todo") == T0 + 600
    heard: list[tuple[str, dict[str, Any]]] = []
    broker.subscribe(lambda kind, data: heard.append((kind, data)))

    ended = broker.revoke_grant(grant["id"], revoked_by="tui")

    assert ended == grant
    assert heard == [("grant.revoked", grant)]
    assert broker.grants() == []
    assert broker.active_grant("fam_1", "things:write", T0, surface="mcp", target="add_todo") is None
    assert records(audit, "grant.revoked") == [
        {
            "event": "grant.revoked",
            "grant_id": grant["id"],
            "family_id": "fam_1",
            "scope": "things:write",
            "surface": "mcp",
            "target": "add_todo",
            "revoked_by": "tui",
        }
    ]
    assert broker.revoke_grant(grant["id"], revoked_by="tui") is None
    assert len(records(audit, "grant.revoked")) == 1


async def test_a_failing_channel_never_approves_and_another_channel_may_still_decide(
    broker: ApprovalBroker, caplog: pytest.LogCaptureFixture
) -> None:
    class Broken:
        name = "pager"

        async def present(self, approval: PendingApproval, broker: ApprovalBroker) -> None:
            raise RuntimeError("connection refused")

    class Person:
        name = "tui"

        async def present(self, approval: PendingApproval, broker: ApprovalBroker) -> None:
            await until(lambda: any(r.name == "auth.approvals" for r in caplog.records))
            broker.decide(approval.id, approved=True, decided_by="tui")

    broker.add_channel(Broken())
    broker.add_channel(Person())
    with caplog.at_level(logging.WARNING, logger="auth.approvals"):
        caller = Caller(broker)
        with anyio.fail_after(WAIT_SECONDS):
            await caller()
    assert caller.decision is not None and (caller.decision.approved, caller.decision.decided_by) == (True, "tui")
    (warning,) = [r for r in caplog.records if r.name == "auth.approvals"]
    # The operator learns which channel failed and why.
    assert "pager" in warning.getMessage() and "connection refused" in warning.getMessage()


async def test_the_history_keeps_the_newest_fifty_decisions(broker: ApprovalBroker) -> None:
    for n in range(51):
        caller = Caller(broker, summary=f"call {n}")
        async with anyio.create_task_group() as tg:
            tg.start_soon(caller)
            await until(lambda: waiters(broker) == [1])
            broker.decide(broker.pending()[0].id, approved=False, decided_by="tui")
    assert len(broker.history) == 50
    assert (broker.history[0]["summary"], broker.history[-1]["summary"]) == ("call 50", "call 1")


async def test_deciding_one_approval_leaves_identical_calls_joining_another(broker: ApprovalBroker) -> None:
    first, second, joining = Caller(broker, summary="a"), Caller(broker, summary="b"), Caller(broker, summary="b")
    async with anyio.create_task_group() as tg:
        tg.start_soon(first)
        tg.start_soon(second)
        await until(lambda: waiters(broker) == [1, 1])
        (decided,) = [p for p in broker.pending() if p.summary == "a"]
        broker.decide(decided.id, approved=False, decided_by="tui")
        tg.start_soon(joining)
        await until(lambda: waiters(broker) == [2])
        broker.decide(broker.pending()[0].id, approved=True, decided_by="tui")
    assert [c.decision.reason for c in (first, second, joining) if c.decision] == ["denied", "approved", "approved"]
