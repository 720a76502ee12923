"""An approval that cannot be audited is no approval: the broker fails closed on a really unwritable log.

The log's open descriptor is pointed at ``/dev/full``, so the kernel answers every write with ENOSPC exactly
as a full disk does (a chmod would not stop writes to an open descriptor, nor restrict root).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import anyio
import pytest

from auth.approvals import ApprovalBroker, ApprovalDecision, PendingApproval
from auth.audit import AuditLog

pytestmark = pytest.mark.anyio
WAIT_SECONDS = 10.0


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def audit(tmp_path: Path) -> Iterator[AuditLog]:
    log = AuditLog(tmp_path / "state" / "audit.log", b"k" * 32)
    yield log
    log.close()


def fill_the_disk(log: AuditLog) -> None:
    """From now on every append to ``log`` fails as it does on a full disk."""
    full = os.open("/dev/full", os.O_WRONLY)
    try:
        os.dup2(full, log._fd)
    finally:
        os.close(full)


def events(log: AuditLog) -> list[str]:
    return [json.loads(line)["event"] for line in log.path.read_text(encoding="utf-8").splitlines()]


class Person:
    """A fake human at the approval channel: approves for ``minutes`` once the disk has filled up."""

    name = "person"

    def __init__(self, audit: AuditLog, minutes: int | None) -> None:
        self.audit = audit
        self.minutes = minutes
        self.shown: list[str] = []

    async def present(self, approval: PendingApproval, broker: ApprovalBroker) -> None:
        self.shown.append(approval.id)
        fill_the_disk(self.audit)
        grant = "timed" if self.minutes else "once"
        broker.decide(approval.id, approved=True, grant=grant, duration_minutes=self.minutes, decided_by="person")


async def ask(broker: ApprovalBroker) -> ApprovalDecision:
    with anyio.fail_after(WAIT_SECONDS):
        return await broker.request(
            family_id="fam_1", label="agent", scope="things:write", operation="add_todo", summary="add 'milk'"
        )


@pytest.mark.parametrize("minutes", [None, 30])
async def test_an_approval_whose_decision_cannot_be_audited_is_denied_and_leaves_no_grant(
    audit: AuditLog, minutes: int | None
) -> None:
    broker = ApprovalBroker(audit, timeout_seconds=WAIT_SECONDS)
    outcomes: list[ApprovalDecision] = []
    broker.on_outcome = outcomes.append
    person = Person(audit, minutes)
    broker.add_channel(person)

    decision = await ask(broker)

    assert len(person.shown) == 1
    assert decision.approved is False
    assert decision.reason == "audit_failed"
    assert decision.grant is None
    assert decision.decided_by == "person"  # who tried to approve stays known
    # The outcome counted (the daemon's approvals metric) is the one the caller got, not the approval.
    assert [(o.approved, o.reason) for o in outcomes] == [(False, "audit_failed")]
    assert broker.active_grant("fam_1", "things:write", broker.clock()) is None
    assert broker.grants() == []
    assert broker.pending() == []
    assert broker.history[0]["status"] == "audit_failed"
    assert events(audit) == ["approval.requested"]


async def test_a_request_that_cannot_be_audited_is_refused_before_anyone_is_asked(audit: AuditLog) -> None:
    broker = ApprovalBroker(audit, timeout_seconds=WAIT_SECONDS)
    outcomes: list[ApprovalDecision] = []
    broker.on_outcome = outcomes.append
    person = Person(audit, None)
    broker.add_channel(person)
    fill_the_disk(audit)

    decision = await ask(broker)

    assert (decision.approved, decision.reason) == (False, "audit_failed")
    assert outcomes == [decision]
    assert person.shown == []
    assert broker.pending() == []
    assert audit.path.read_text(encoding="utf-8") == ""
