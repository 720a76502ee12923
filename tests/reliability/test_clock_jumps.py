"""The wall clock jumping forwards and backwards around token expiry and time-boxed grants.

Semantics (see SECURITY.md): token expiry is an absolute wall-clock time checked against the current clock,
because it must survive restarts. A forward jump therefore expires tokens at once; a backwards jump makes a
token whose expiry now lies in the future usable again until that same wall-clock time (never longer than
its TTL after the clock is right again). Consumption and revocation are not time-based, so no jump undoes
them. A time-boxed grant lives only in the daemon and ends at its wall-clock expiry *or* when its duration
has passed on the monotonic clock, whichever is first: a forward jump ends it, a backwards jump cannot
stretch it past the duration the person granted.

The clocks are injected (``Authority.clock``, ``Gate.clock``, ``ApprovalBroker.clock``/``monotonic``), so the
test moves time without touching the host's clock.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import anyio
import pytest

from auth.errors import RefreshTokenExpiredError, RefreshTokenReuseError
from auth.scopes import Tier
from mcp_server.daemon.context import DaemonContext
from mcp_server.daemon.serve import open_context
from mcp_server.settings import load_settings
from tests.support.approvals import wait_until
from tests.support.daemon import isolated_env

START = 2_000_000_000.0  # an arbitrary wall-clock time
GRANT_MINUTES = 10


@dataclass
class ManualClock:
    now: float

    def __call__(self) -> float:
        return self.now


@dataclass
class Clocks:
    ctx: DaemonContext
    wall: ManualClock
    monotonic: ManualClock

    def elapse(self, seconds: float) -> None:
        """Real time passes: both clocks move."""
        self.wall.now += seconds
        self.monotonic.now += seconds

    def jump(self, seconds: float) -> None:
        """Someone sets the wall clock; monotonic time does not move."""
        self.wall.now += seconds


@pytest.fixture
def clocks(tmp_path: Path) -> Iterator[Clocks]:
    with isolated_env(tmp_path / "home") as env:
        ctx = open_context(load_settings(env=env))
        wall, monotonic = ManualClock(START), ManualClock(1000.0)
        ctx.authority.clock = ctx.gate.clock = ctx.broker.clock = wall
        ctx.broker.monotonic = monotonic
        try:
            yield Clocks(ctx, wall, monotonic)
        finally:
            ctx.gate.close()
            ctx.authority.audit.close()
            ctx.authority.db.dispose()


def code(clocks: Clocks, token: str, scope: str = "things:read") -> str | None:
    decision = clocks.ctx.gate.check(token, scope)
    return None if decision.allowed else decision.code


def test_a_forward_jump_expires_an_access_token_at_once_and_a_backwards_jump_follows_the_clock(
    clocks: Clocks,
) -> None:
    family = clocks.ctx.authority.create_family({"things:read": Tier.ALLOW}, access_ttl_seconds=60)
    clocks.elapse(30)
    assert code(clocks, family.access_token) is None

    clocks.jump(+3600)
    assert code(clocks, family.access_token) == "token_expired"

    # Back to before the expiry: expiry is checked against the current clock, so the token works until the
    # same wall-clock expiry as before — never past it.
    clocks.jump(-3600)
    assert code(clocks, family.access_token) is None
    clocks.elapse(30)
    assert code(clocks, family.access_token) == "token_expired"


def test_no_backwards_jump_revives_a_consumed_refresh_token_or_a_revoked_family(clocks: Clocks) -> None:
    authority = clocks.ctx.authority
    family = authority.create_family({"things:read": Tier.ALLOW})
    clocks.elapse(10)
    rotated = authority.refresh(family.refresh_token)

    clocks.jump(-86_400)
    assert code(clocks, family.access_token) == "token_revoked"  # rotated away
    with pytest.raises(RefreshTokenReuseError):
        authority.refresh(family.refresh_token)
    assert code(clocks, rotated.access_token) == "token_revoked"  # the reuse revoked the family
    clocks.jump(-86_400)
    assert code(clocks, rotated.access_token) == "token_revoked"


def test_a_forward_jump_expires_a_refresh_token_at_once(clocks: Clocks) -> None:
    family = clocks.ctx.authority.create_family({"things:read": Tier.ALLOW}, refresh_ttl_seconds=3600)
    clocks.jump(+3601)
    with pytest.raises(RefreshTokenExpiredError):
        clocks.ctx.authority.refresh(family.refresh_token)


async def grant_for(clocks: Clocks, token: str) -> None:
    """Ask for ``things:write`` (prompt tier) and have a person grant it for ``GRANT_MINUTES``."""
    broker = clocks.ctx.broker
    async with anyio.create_task_group() as tg:
        tg.start_soon(lambda: clocks.ctx.gate.authorize(token, "things:write", operation="validate"))
        await wait_until(lambda: bool(broker.pending()))
        [pending] = broker.pending()
        broker.decide(pending.id, approved=True, grant="timed", duration_minutes=GRANT_MINUTES, decided_by="test")


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.mark.anyio
async def test_a_forward_jump_ends_a_time_boxed_grant_at_once(clocks: Clocks) -> None:
    family = clocks.ctx.authority.create_family(
        {"things:write": Tier.PROMPT}, access_ttl_seconds=86_400, refresh_ttl_seconds=86_400
    )
    await grant_for(clocks, family.access_token)
    clocks.elapse(60)
    assert code(clocks, family.access_token, "things:write") is None  # the grant answers without asking

    clocks.jump(GRANT_MINUTES * 60)
    assert code(clocks, family.access_token, "things:write") == "approval_required"
    assert clocks.ctx.broker.grants() == []


@pytest.mark.anyio
async def test_a_backwards_jump_cannot_stretch_a_time_boxed_grant_past_its_duration(clocks: Clocks) -> None:
    family = clocks.ctx.authority.create_family(
        {"things:write": Tier.PROMPT}, access_ttl_seconds=86_400, refresh_ttl_seconds=86_400
    )
    await grant_for(clocks, family.access_token)
    clocks.jump(-3600)  # the wall-clock expiry is now 70 minutes away
    clocks.elapse(GRANT_MINUTES * 60 - 1)
    assert code(clocks, family.access_token, "things:write") is None  # still inside the granted duration

    clocks.elapse(1)
    assert code(clocks, family.access_token, "things:write") == "approval_required"
    assert clocks.ctx.broker.grants() == []
