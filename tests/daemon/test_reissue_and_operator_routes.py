"""Reissue with approval; health and metrics behind their scopes; the management routes, off by default."""

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


def expired_family(daemon: RunningDaemon) -> Any:
    return daemon.create_family(SCOPES, now=time.time() - 300, access_ttl_seconds=60, refresh_ttl_seconds=120)


async def test_reissue_with_the_expired_refresh_token_and_approval_gives_a_new_pair(daemon: RunningDaemon) -> None:
    issued = expired_family(daemon)
    async with (
        admin_subscriber(daemon.admin_socket) as sub,
        checking_client(daemon.url, timeout=30) as http,
        anyio.create_task_group() as tg,
    ):
        result: dict[str, Any] = {}
        done = anyio.Event()

        async def reissue() -> None:
            result["response"] = await http.post(REISSUE, json={"refresh_token": issued.refresh_token})
            done.set()

        tg.start_soon(reissue)
        created = await sub.next_event("approval.created")
        assert (created["scope"], created["operation"]) == ("agent-auth:reissue", "token.reissue")
        await sub.decide(created["id"], "approve")
        with anyio.fail_after(10):
            await done.wait()
        response = result["response"]
        assert response.status_code == 200
        pair = response.json()
        validated = await http.post(
            "/agent-auth/v1/validate", json={"token": pair["access_token"], "required_scope": "things:read"}
        )
        again = await http.post(REISSUE, json={"refresh_token": issued.refresh_token})
    assert validated.status_code == 200
    assert pair["scopes"] == SCOPES
    assert again.status_code == 401  # the expired refresh token was used up by the reissue
    assert again.json()["error"] == "invalid_token"


async def test_reissue_denied_by_a_person_is_reissue_denied(daemon: RunningDaemon) -> None:
    issued = expired_family(daemon)
    async with (
        admin_subscriber(daemon.admin_socket) as sub,
        checking_client(daemon.url, timeout=30) as http,
        anyio.create_task_group() as tg,
    ):
        result: dict[str, Any] = {}

        async def reissue() -> None:
            result["response"] = await http.post(REISSUE, json={"refresh_token": issued.refresh_token})

        tg.start_soon(reissue)
        created = await sub.next_event("approval.created")
        await sub.decide(created["id"], "deny")
    response = result["response"]
    assert response.status_code == 403
    assert response.json()["error"] == "reissue_denied"
    assert response.json()["detail"] == "denied"


async def test_reissue_with_a_still_valid_refresh_token_is_refused(daemon: RunningDaemon) -> None:
    issued = daemon.create_family(SCOPES)
    async with checking_client(daemon.url) as http:
        response = await http.post(REISSUE, json={"refresh_token": issued.refresh_token})
    assert response.status_code == 400
    assert response.json()["error"] == "refresh_token_still_valid"


async def test_reissue_refuses_forged_access_and_revoked_family_tokens(daemon: RunningDaemon) -> None:
    revoked = expired_family(daemon)
    daemon.ctx.authority.revoke_family(revoked.family_id)
    live = daemon.create_family(SCOPES)
    async with checking_client(daemon.url) as http:
        codes = [
            (r.status_code, r.json()["error"])
            for r in [
                await http.post(REISSUE, json={"refresh_token": "rt_" + "1" * 32 + "_abc"}),
                await http.post(REISSUE, json={"refresh_token": live.access_token}),
                await http.post(REISSUE, json={"refresh_token": revoked.refresh_token}),
            ]
        ]
    assert codes == [(401, "invalid_token"), (401, "invalid_token"), (401, "family_revoked")]


async def test_reissue_by_family_id_is_refused_when_disabled(start: Any) -> None:
    daemon: RunningDaemon = start(reissue_by_family_id_enabled=False)
    issued = expired_family(daemon)
    async with checking_client(daemon.url) as http:
        response = await http.post(REISSUE, json={"family_id": issued.family_id})
    assert response.status_code == 400
    assert response.json()["error"] == "malformed_request"
    assert "refresh_token" in response.json()["detail"]


async def test_reissue_by_family_id_works_with_approval_on_a_default_daemon(daemon: RunningDaemon) -> None:
    issued = expired_family(daemon)
    live = daemon.create_family(SCOPES)
    async with admin_subscriber(daemon.admin_socket) as sub, checking_client(daemon.url, timeout=30) as http:
        still_valid = await http.post(REISSUE, json={"family_id": live.family_id})
        unknown = await http.post(REISSUE, json={"family_id": "0" * 32})
        async with anyio.create_task_group() as tg:
            result: dict[str, Any] = {}

            async def reissue() -> None:
                result["response"] = await http.post(REISSUE, json={"family_id": issued.family_id})

            tg.start_soon(reissue)
            created = await sub.next_event("approval.created")
            await sub.decide(created["id"], "approve")
    assert (still_valid.status_code, still_valid.json()["error"]) == (400, "refresh_token_still_valid")
    assert (unknown.status_code, unknown.json()["error"]) == (401, "family_revoked")
    assert result["response"].status_code == 200


# --- health and metrics -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("route", "scope"), [("/agent-auth/health", "agent-auth:health"), ("/agent-auth/metrics", "agent-auth:metrics")]
)
async def test_operator_routes_need_their_scope_at_the_allow_tier(
    daemon: RunningDaemon, route: str, scope: str
) -> None:
    holder = daemon.create_family({scope: "allow"}, allow_reserved=True)
    prompt = daemon.create_family({scope: "prompt"}, allow_reserved=True)
    other = daemon.create_family(SCOPES)
    expired = daemon.create_family({scope: "allow"}, allow_reserved=True, now=time.time() - 120, access_ttl_seconds=60)
    async with checking_client(daemon.url) as http:
        ok = await http.get(route, headers={"Authorization": f"Bearer {holder.access_token}"})
        missing = await http.get(route)
        forged = await http.get(route, headers={"Authorization": "Bearer aa_nope"})
        lacking = await http.get(route, headers={"Authorization": f"Bearer {other.access_token}"})
        prompted = await http.get(route, headers={"Authorization": f"Bearer {prompt.access_token}"})
        stale = await http.get(route, headers={"Authorization": f"Bearer {expired.access_token}"})
    assert ok.status_code == 200
    assert (missing.status_code, missing.json()["error"]) == (401, "missing_token")
    assert missing.headers["www-authenticate"] == "Bearer"
    assert (forged.status_code, forged.json()["error"]) == (401, "invalid_token")
    assert (lacking.status_code, lacking.json()["error"]) == (403, "scope_denied")
    assert (prompted.status_code, prompted.json()["error"]) == (403, "scope_denied")
    assert (stale.status_code, stale.json()["error"]) == (401, "token_expired")


async def test_health_reports_ok_for_a_healthy_store(daemon: RunningDaemon) -> None:
    holder = daemon.create_family({"agent-auth:health": "allow"}, allow_reserved=True)
    async with checking_client(daemon.url) as http:
        response = await http.get("/agent-auth/health", headers={"Authorization": f"Bearer {holder.access_token}"})
    assert response.json() == {"status": "ok"}


async def test_metrics_count_requests_decisions_and_token_operations(daemon: RunningDaemon) -> None:
    holder = daemon.create_family({"agent-auth:metrics": "allow"}, allow_reserved=True)
    user = daemon.create_family(SCOPES)
    async with checking_client(daemon.url) as http:
        await http.post("/agent-auth/v1/validate", json={"token": user.access_token, "required_scope": "things:read"})
        await http.post("/agent-auth/v1/token/refresh", json={"refresh_token": user.refresh_token})
        await http.get("/no/such/path")
        response = await http.get("/agent-auth/metrics", headers={"Authorization": f"Bearer {holder.access_token}"})
    text = response.text
    assert response.headers["content-type"].startswith("text/plain")
    assert 'agent_auth_decisions_total{outcome="allow",reason="ok"}' in text
    assert 'agent_auth_token_operations_total{operation="refresh",result="ok"}' in text
    assert 'route="/agent-auth/v1/validate",status="200"' in text
    assert 'route="unmatched",status="404"' in text
    assert "/no/such/path" not in text


# --- management routes --------------------------------------------------------------------------

MANAGEMENT = [
    ("POST", "/agent-auth/v1/token/create"),
    ("GET", "/agent-auth/v1/token/list"),
    ("POST", "/agent-auth/v1/token/modify"),
    ("POST", "/agent-auth/v1/token/revoke"),
    ("POST", "/agent-auth/v1/token/rotate"),
]


async def test_management_routes_are_404_when_disabled(daemon: RunningDaemon) -> None:
    manager = daemon.create_family({"agent-auth:manage": "allow"}, allow_reserved=True)
    async with checking_client(daemon.url) as http:
        responses = [
            await http.request(method, path, json={}, headers={"Authorization": f"Bearer {manager.access_token}"})
            for method, path in MANAGEMENT
        ]
    assert [(r.status_code, r.json()["error"]) for r in responses] == [(404, "not_found")] * len(MANAGEMENT)


async def test_management_routes_manage_families_with_a_manage_token_when_enabled(start: Any) -> None:
    daemon: RunningDaemon = start(management_endpoints_enabled=True)
    manager = daemon.create_family({"agent-auth:manage": "allow"}, allow_reserved=True)
    auth = {"Authorization": f"Bearer {manager.access_token}"}
    async with checking_client(daemon.url) as http:
        created = await http.post(
            "/agent-auth/v1/token/create", json={"scopes": {"things:read": "allow"}, "label": "ci"}, headers=auth
        )
        assert created.status_code == 200
        family_id = created.json()["family_id"]
        listed = await http.get("/agent-auth/v1/token/list", headers=auth)
        assert [f["family_id"] for f in listed.json()] == [family_id]  # the manage family is not listed
        modified = await http.post(
            "/agent-auth/v1/token/modify",
            json={"family_id": family_id, "add_scopes": {"gpg:sign": "prompt"}, "remove_scopes": ["things:read"]},
            headers=auth,
        )
        assert modified.json()["scopes"] == {"gpg:sign": "prompt"}
        rotated = await http.post("/agent-auth/v1/token/rotate", json={"family_id": family_id}, headers=auth)
        assert rotated.status_code == 200
        new_id = rotated.json()["new_family_id"]
        old_token_check = await http.post(
            "/agent-auth/v1/validate", json={"token": created.json()["access_token"], "required_scope": "gpg:sign"}
        )
        assert old_token_check.json()["error"] == "token_revoked"
        revoked = await http.post("/agent-auth/v1/token/revoke", json={"family_id": new_id}, headers=auth)
        assert revoked.json() == {"family_id": new_id, "revoked": True}
        errors = [
            await http.post("/agent-auth/v1/token/create", json={"scopes": {}}, headers=auth),
            await http.post("/agent-auth/v1/token/create", json={"scopes": {"a:b": "always"}}, headers=auth),
            await http.post(
                "/agent-auth/v1/token/create", json={"scopes": {"agent-auth:manage": "allow"}}, headers=auth
            ),
            await http.post("/agent-auth/v1/token/modify", json={"family_id": new_id}, headers=auth),
            await http.post(
                "/agent-auth/v1/token/modify", json={"family_id": new_id, "add_scopes": {"a:b": "allow"}}, headers=auth
            ),
            await http.post("/agent-auth/v1/token/rotate", json={"family_id": "f" * 32}, headers=auth),
            await http.post("/agent-auth/v1/token/revoke", json={"family_id": "nope"}, headers=auth),
            await http.post("/agent-auth/v1/token/revoke", json={}, headers=auth),
        ]
    assert [(r.status_code, r.json()["error"]) for r in errors] == [
        (400, "no_scopes"),
        (400, "invalid_tier"),
        (400, "malformed_request"),  # a reserved scope: the original's clients know only its 400 codes
        (400, "no_modifications"),
        (409, "family_revoked"),
        (404, "family_not_found"),
        (404, "family_not_found"),  # an id that cannot name a family is not found, as in the original
        (400, "malformed_request"),
    ]


async def test_management_routes_refuse_tokens_without_the_manage_scope(start: Any) -> None:
    daemon: RunningDaemon = start(management_endpoints_enabled=True)
    user = daemon.create_family(SCOPES)
    prompt = daemon.create_family({"agent-auth:manage": "prompt"}, allow_reserved=True)
    async with checking_client(daemon.url) as http:
        lacking = await http.get("/agent-auth/v1/token/list", headers={"Authorization": f"Bearer {user.access_token}"})
        prompted = await http.get(
            "/agent-auth/v1/token/list", headers={"Authorization": f"Bearer {prompt.access_token}"}
        )
        missing = await http.get("/agent-auth/v1/token/list")
    assert (lacking.status_code, lacking.json()["error"]) == (403, "scope_denied")
    assert (prompted.status_code, prompted.json()["error"]) == (403, "scope_denied")
    assert (missing.status_code, missing.json()["error"]) == (401, "missing_token")
