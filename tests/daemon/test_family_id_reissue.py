"""Family-id-only reissue on a default daemon: asks a person, says it carries no secret, and is fenced.

The original clients reissue with ``{"family_id": …}`` once the refresh token expired; the request proves
nothing, so it only ever reaches a person's prompt — one at a time per family, with a cool-down after a
refusal, never for a revoked family.
"""

from __future__ import annotations

import time
from typing import Any

import anyio
import pytest

from tests.support.approvals import admin_subscriber
from tests.support.daemon import RunningDaemon
from tests.support.openapi import checking_client

pytestmark = pytest.mark.anyio

REISSUE = "/agent-auth/v1/token/reissue"
SCOPES = {"things:read": "allow"}


def expired_family(daemon: RunningDaemon, label: str | None = "laptop things-cli") -> Any:
    return daemon.create_family(
        SCOPES, label=label, now=time.time() - 300, access_ttl_seconds=60, refresh_ttl_seconds=120
    )


async def test_an_approved_family_id_reissue_gives_a_working_pair_with_the_exact_ttl(daemon: RunningDaemon) -> None:
    issued = daemon.create_family(
        SCOPES, label="laptop", now=time.time() - 300, access_ttl_seconds=900, refresh_ttl_seconds=120
    )
    async with (
        admin_subscriber(daemon.admin_socket) as sub,
        checking_client(daemon.url, timeout=30) as http,
        anyio.create_task_group() as tg,
    ):
        result: dict[str, Any] = {}

        async def reissue() -> None:
            result["response"] = await http.post(REISSUE, json={"family_id": issued.family_id})

        tg.start_soon(reissue)
        created = await sub.next_event("approval.created")
        await sub.decide(created["id"], "approve")
    response = result["response"]
    assert response.status_code == 200
    pair = response.json()
    assert pair["expires_in"] == 900
    assert "anyone who knows this family id could have sent it" in created["summary"]
    assert created["scope"] == "agent-auth:reissue"
    async with checking_client(daemon.url) as http:
        validated = await http.post(
            "/agent-auth/v1/validate", json={"token": pair["access_token"], "required_scope": "things:read"}
        )
        refreshed = await http.post("/agent-auth/v1/token/refresh", json={"refresh_token": pair["refresh_token"]})
    assert validated.status_code == 200
    assert refreshed.status_code == 200


async def test_a_denied_family_id_reissue_is_reissue_denied_then_the_family_cools_down(daemon: RunningDaemon) -> None:
    issued = expired_family(daemon)
    async with (
        admin_subscriber(daemon.admin_socket) as sub,
        checking_client(daemon.url, timeout=30) as http,
    ):
        async with anyio.create_task_group() as tg:
            result: dict[str, Any] = {}

            async def reissue() -> None:
                result["response"] = await http.post(REISSUE, json={"family_id": issued.family_id})

            tg.start_soon(reissue)
            created = await sub.next_event("approval.created")
            await sub.decide(created["id"], "deny")
        again = await http.post(REISSUE, json={"family_id": issued.family_id})
    denied = result["response"]
    assert (denied.status_code, denied.json()["error"], denied.json()["detail"]) == (403, "reissue_denied", "denied")
    assert (again.status_code, again.json()["error"]) == (429, "rate_limited")
    assert 250 <= int(again.headers["retry-after"]) <= 300


async def test_a_family_id_reissue_nobody_answers_is_reissue_denied_timeout_then_cools_down(start: Any) -> None:
    daemon: RunningDaemon = start(approval_timeout_seconds=0.5, reissue_cooldown_seconds=30)
    issued = expired_family(daemon)
    async with checking_client(daemon.url, timeout=30) as http:
        timed_out = await http.post(REISSUE, json={"family_id": issued.family_id})
        again = await http.post(REISSUE, json={"family_id": issued.family_id})
    assert (timed_out.status_code, timed_out.json()["error"]) == (403, "reissue_denied")
    assert timed_out.json()["detail"] == "timeout"
    assert (again.status_code, again.json()["error"]) == (429, "rate_limited")
    assert 1 <= int(again.headers["retry-after"]) <= 30


async def test_only_one_family_id_reissue_per_family_waits_at_a_time(daemon: RunningDaemon) -> None:
    issued = expired_family(daemon)
    other = expired_family(daemon, label="other")
    async with (
        admin_subscriber(daemon.admin_socket) as sub,
        checking_client(daemon.url, timeout=30) as http,
        anyio.create_task_group() as tg,
    ):
        result: dict[str, Any] = {}

        async def reissue(key: str, family_id: str) -> None:
            result[key] = await http.post(REISSUE, json={"family_id": family_id})

        tg.start_soon(reissue, "first", issued.family_id)
        first = await sub.next_event("approval.created")
        second = await http.post(REISSUE, json={"family_id": issued.family_id})
        tg.start_soon(reissue, "other", other.family_id)
        other_prompt = await sub.next_event("approval.created")
        await sub.decide(first["id"], "approve")
        await sub.decide(other_prompt["id"], "approve")
    assert (second.status_code, second.json()["error"]) == (429, "rate_limited")
    assert int(second.headers["retry-after"]) >= 1
    assert result["first"].status_code == 200
    assert result["other"].status_code == 200  # another family is not held up


async def test_family_id_reissue_is_never_offered_for_revoked_unknown_or_live_families(daemon: RunningDaemon) -> None:
    revoked = expired_family(daemon)
    daemon.ctx.authority.revoke_family(revoked.family_id)
    live = daemon.create_family(SCOPES)
    async with checking_client(daemon.url) as http:
        answers = [
            await http.post(REISSUE, json={"family_id": revoked.family_id}),
            await http.post(REISSUE, json={"family_id": "0" * 32}),
            await http.post(REISSUE, json={"family_id": "not-a-family"}),
            await http.post(REISSUE, json={"family_id": live.family_id}),
            await http.post(REISSUE, json={"family_id": 7}),
        ]
    assert [(r.status_code, r.json()["error"]) for r in answers] == [
        (401, "family_revoked"),
        (401, "family_revoked"),
        (401, "family_revoked"),
        (400, "refresh_token_still_valid"),
        (400, "malformed_request"),
    ]
    assert daemon.ctx.broker.pending() == []  # none of them reached a person


async def test_a_reuse_revoked_family_cannot_be_reissued_by_id(daemon: RunningDaemon) -> None:
    issued = daemon.create_family(SCOPES)
    async with checking_client(daemon.url) as http:
        first = await http.post("/agent-auth/v1/token/refresh", json={"refresh_token": issued.refresh_token})
        reused = await http.post("/agent-auth/v1/token/refresh", json={"refresh_token": issued.refresh_token})
        reissue = await http.post(REISSUE, json={"family_id": issued.family_id})
    assert first.status_code == 200
    assert reused.json()["error"] == "refresh_token_reuse_detected"
    assert (reissue.status_code, reissue.json()["error"]) == (401, "family_revoked")
