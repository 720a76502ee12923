"""The approvals broker's bookkeeping: what a pending approval shows, grants, listeners, shutdown."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import pytest
from auth_test_support import T0, Clocks

from auth.approvals import MAX_GRANT_MINUTES, ApprovalBroker, ApprovalDecision, PendingApproval
from auth.audit import AuditLog

pytestmark = pytest.mark.anyio
WAIT_SECONDS = 10.0


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def clocks() -> Clocks:
    return Clocks()


@pytest.fixture
def broker(tmp_path: Path, clocks: Clocks) -> Iterator[ApprovalBroker]:
    audit = AuditLog(tmp_path / "state" / "audit.log", b"k" * 32)
    yield ApprovalBroker(audit, timeout_seconds=WAIT_SECONDS, clock=lambda: clocks.wall, monotonic=lambda: clocks.mono)
    audit.close()


def audit_events(broker: ApprovalBroker) -> list[dict[str, Any]]:
    return [json.loads(line) for line in broker.audit.path.read_text(encoding="utf-8").splitlines()]


class Person:
    name = "person"

    def __init__(self, **decision: Any) -> None:
        self.decision = decision
        self.shown: list[dict[str, Any]] = []

    async def present(self, approval: PendingApproval, broker: ApprovalBroker) -> None:
        self.shown.append(approval.to_json())
        if self.decision:
            broker.decide(approval.id, decided_by="tui", **self.decision)


async def ask(broker: ApprovalBroker, family: str = "fam_1", scope: str = "things:write") -> ApprovalDecision:
    with anyio.fail_after(WAIT_SECONDS):
        return await broker.request(
            family_id=family, label="notes", scope=scope, operation="add_todo", summary="add 'milk'"
        )


async def test_a_pending_approval_shows_everything_a_person_decides_on(broker: ApprovalBroker) -> None:
    person = Person(approved=True, grant="timed", duration_minutes=5, decided_by_claim="tui 1.0")
    broker.add_channel(person)

    decision = await ask(broker)

    shown = person.shown[0]
    assert shown == {
        "id": shown["id"],
        "family_id": "fam_1",
        "label": "notes",
        "scope": "things:write",
        "operation": "add_todo",
        "summary": "add 'milk'",
        "requested_at": T0,
        "expires_at": T0 + WAIT_SECONDS,
        "waiters": 1,
        "status": "pending",
        # Not bound to a prepared request here (no digest, rows or caller claim); see the gate's tests.
        "digest": None,
        "surface": "",
        "details": [],
        "claim": None,
    }
    assert shown["id"].startswith("ap_")
    decided = broker.history[0]
    assert decided["status"] == "approved" and decided["decided_at"] == T0
    assert decided["decision"] == {
        "approved": True,
        "reason": "approved",
        "grant": "timed",
        "duration_minutes": 5,
        "decided_by": "tui",
        "decided_by_claim": "tui 1.0",
    }
    assert (decision.approved, decision.grant, decision.duration_minutes, decision.approval_id) == (
        True,
        "timed",
        5,
        shown["id"],
    )


async def test_a_timed_grant_is_listed_until_it_ends_and_is_per_family_and_scope(
    broker: ApprovalBroker, clocks: Clocks
) -> None:
    broker.add_channel(Person(approved=True, grant="timed", duration_minutes=1))
    await ask(broker, "fam_1", "things:write")
    await ask(broker, "fam_2", "gpg:sign")
    assert [(g["family_id"], g["scope"], g["target"], g["expires_at"], g["seconds_left"]) for g in broker.grants()] == [
        ("fam_1", "things:write", "add_todo", T0 + 60, 60),
        ("fam_2", "gpg:sign", "add_todo", T0 + 60, 60),
    ]
    assert broker.active_grant("fam_1", "things:write", clocks.wall, surface="", target="add_todo") == T0 + 60
    assert broker.active_grant("fam_1", "gpg:sign", clocks.wall, surface="", target="add_todo") is None
    broker.revoke_grants("fam_1")
    assert [g["family_id"] for g in broker.grants()] == ["fam_2"]
    clocks.advance(59.9)
    assert broker.active_grant("fam_2", "gpg:sign", clocks.wall, surface="", target="add_todo") == T0 + 60
    clocks.advance(0.1)
    assert broker.grants() == []
    assert broker.active_grant("fam_2", "gpg:sign", clocks.wall, surface="", target="add_todo") is None


async def test_a_grant_ends_on_the_monotonic_clock_even_if_the_wall_clock_goes_back(
    broker: ApprovalBroker, clocks: Clocks
) -> None:
    broker.add_channel(Person(approved=True, grant="timed", duration_minutes=1))
    await ask(broker)
    clocks.mono += 60
    clocks.wall -= 3600
    assert broker.grants() == []
    assert broker.active_grant("fam_1", "things:write", clocks.wall, surface="", target="add_todo") is None


@pytest.mark.parametrize("minutes", [None, 0, MAX_GRANT_MINUTES + 1])
async def test_a_timed_grant_outside_its_bounds_is_refused(broker: ApprovalBroker, minutes: int | None) -> None:
    errors: list[Exception] = []

    class Careless:
        name = "careless"

        async def present(self, approval: PendingApproval, broker: ApprovalBroker) -> None:
            try:
                broker.decide(approval.id, approved=True, grant="timed", duration_minutes=minutes, decided_by="tui")
            except ValueError as exc:
                errors.append(exc)
            broker.decide(approval.id, approved=False, decided_by="tui")

    broker.add_channel(Careless())
    decision = await ask(broker)
    assert len(errors) == 1 and decision.reason == "denied"
    assert broker.grants() == []


async def test_listeners_hear_each_approval_created_and_decided_and_a_broken_one_changes_nothing(
    broker: ApprovalBroker,
) -> None:
    heard: list[tuple[str, str]] = []

    def broken(kind: str, data: dict[str, Any]) -> None:
        raise RuntimeError("listener bug")

    broker.subscribe(broken)
    unsubscribe = broker.subscribe(lambda kind, data: heard.append((kind, data["status"])))
    broker.add_channel(Person(approved=False))

    assert (await ask(broker)).reason == "denied"
    assert heard == [("approval.created", "pending"), ("approval.decided", "denied")]
    unsubscribe()
    unsubscribe()  # twice is harmless
    await ask(broker)
    assert len(heard) == 2


async def test_pending_lists_the_newest_first_and_get_finds_one(broker: ApprovalBroker, clocks: Clocks) -> None:
    seen: list[str] = []

    async def on_created(approval: PendingApproval) -> None:
        seen.append(approval.id)
        clocks.advance(1)

    async with anyio.create_task_group() as tg:
        for summary in ("first", "second"):
            tg.start_soon(
                lambda s=summary: broker.request(
                    family_id="fam_1",
                    label=None,
                    scope="things:write",
                    operation="add",
                    summary=s,
                    on_created=on_created,
                )
            )
        with anyio.fail_after(WAIT_SECONDS):
            while len(broker.pending()) < 2:
                await anyio.sleep(0)
        assert [p.summary for p in broker.pending()] == ["second", "first"]
        assert broker.get(seen[0]) is broker.pending()[1]
        assert broker.get("ap_missing") is None
        broker.close()
    assert broker.pending() == []


async def test_shutdown_cancels_what_is_pending_and_refuses_what_comes_next(broker: ApprovalBroker) -> None:
    results: list[ApprovalDecision] = []

    async def waiting() -> None:
        results.append(await ask(broker))

    async with anyio.create_task_group() as tg:
        tg.start_soon(waiting)
        with anyio.fail_after(WAIT_SECONDS):
            while not broker.pending():
                await anyio.sleep(0)
        broker.close()
    assert [(d.approved, d.reason, d.decided_by) for d in results] == [(False, "cancelled", "shutdown")]
    late = await ask(broker)
    assert (late.approved, late.reason, late.decided_by) == (False, "cancelled", "shutdown")
    decided = [e for e in audit_events(broker) if e["event"] == "approval.decided"]
    assert [(e["reason"], e["decided_by"], e["approval_id"] is None) for e in decided] == [
        ("cancelled", "shutdown", False),
        ("cancelled", "shutdown", True),
    ]
    # The refused request never became an approval; its record still says what was asked, and by whom.
    assert [decided[1][k] for k in ("family_id", "scope", "operation", "summary", "approved")] == [
        "fam_1",
        "things:write",
        "add_todo",
        "add 'milk'",
        False,
    ]
