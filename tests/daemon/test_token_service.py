"""The seed-compatible token service over real HTTP: validate, refresh, status, and their error codes."""

from __future__ import annotations

import math
import time

import anyio
import httpx2
import pytest

from auth.bootstrap import StorePaths, open_authority
from auth.keys import FileKeyStore
from tests.support.daemon import RunningDaemon
from tests.support.openapi import checking_client

pytestmark = pytest.mark.anyio

SCOPES = {"things:read": "allow", "things:write": "deny", "gpg:sign": "prompt"}


async def validate(http: httpx2.AsyncClient, token: str, scope: str, **extra: str) -> httpx2.Response:
    return await http.post("/agent-auth/v1/validate", json={"token": token, "required_scope": scope, **extra})


async def test_an_allowed_scope_validates_with_its_tier(daemon: RunningDaemon) -> None:
    issued = daemon.create_family(SCOPES)
    async with checking_client(daemon.url) as http:
        response = await validate(http, issued.access_token, "things:read")
    assert response.status_code == 200
    assert response.json() == {"valid": True, "tier": "allow"}


@pytest.mark.parametrize("scope", ["things:write", "things:delete", "not a scope"])
async def test_a_denied_absent_or_malformed_scope_is_scope_denied(daemon: RunningDaemon, scope: str) -> None:
    issued = daemon.create_family(SCOPES)
    async with checking_client(daemon.url) as http:
        response = await validate(http, issued.access_token, scope)
    assert response.status_code == 403
    assert response.json()["error"] == "scope_denied"
    assert response.json()["valid"] is False


async def test_a_forged_token_is_invalid_token(daemon: RunningDaemon) -> None:
    issued = daemon.create_family(SCOPES)
    forged = issued.access_token[:-4] + ("AAAA" if not issued.access_token.endswith("AAAA") else "BBBB")
    async with checking_client(daemon.url) as http:
        responses = [
            await validate(http, forged, "things:read"),
            await validate(http, "aa_garbage", "things:read"),
            await validate(http, issued.refresh_token, "things:read"),
            await validate(http, "", "things:read"),
        ]
    assert [r.status_code for r in responses] == [401] * 4
    assert {r.json()["error"] for r in responses} == {"invalid_token"}


async def test_an_expired_access_token_is_token_expired(daemon: RunningDaemon) -> None:
    issued = daemon.create_family(SCOPES, now=time.time() - 120, access_ttl_seconds=60)
    async with checking_client(daemon.url) as http:
        response = await validate(http, issued.access_token, "things:read")
    assert response.status_code == 401
    assert response.json()["error"] == "token_expired"


async def test_a_revoked_family_is_token_revoked_on_the_next_call(daemon: RunningDaemon) -> None:
    issued = daemon.create_family(SCOPES)
    async with checking_client(daemon.url) as http:
        assert (await validate(http, issued.access_token, "things:read")).status_code == 200
        daemon.ctx.authority.revoke_family(issued.family_id)
        response = await validate(http, issued.access_token, "things:read")
    assert response.status_code == 401
    assert response.json()["error"] == "token_revoked"


async def test_a_scope_change_applies_on_the_next_call_without_new_tokens(daemon: RunningDaemon) -> None:
    from auth.scopes import Tier

    issued = daemon.create_family(SCOPES)
    async with checking_client(daemon.url) as http:
        assert (await validate(http, issued.access_token, "things:write")).status_code == 403
        daemon.ctx.authority.modify_family(issued.family_id, set_tiers={"things:write": Tier.ALLOW})
        response = await validate(http, issued.access_token, "things:write")
    assert response.status_code == 200


async def test_a_revoke_written_by_another_process_is_seen_on_the_next_request(daemon: RunningDaemon) -> None:
    """A second Authority on the same files stands in for the CLI writing the store while the daemon runs."""
    issued = daemon.create_family(SCOPES)
    settings = daemon.settings
    async with checking_client(daemon.url) as http:
        assert (await validate(http, issued.access_token, "things:read")).status_code == 200  # warms the cache
        other = open_authority(
            StorePaths(settings.database_path, settings.state_dir / "other-audit.log"),
            FileKeyStore(settings.key_file_path),
        )
        try:
            other.revoke_family(issued.family_id, actor="cli")
        finally:
            other.audit.close()
            other.db.dispose()
        response = await validate(http, issued.access_token, "things:read")
    assert response.status_code == 401
    assert response.json()["error"] == "token_revoked"


async def test_refresh_returns_a_new_pair_and_retires_the_old_access_token(daemon: RunningDaemon) -> None:
    issued = daemon.create_family(SCOPES)
    async with checking_client(daemon.url) as http:
        response = await http.post("/agent-auth/v1/token/refresh", json={"refresh_token": issued.refresh_token})
        assert response.status_code == 200
        body = response.json()
        assert body["scopes"] == SCOPES | {}
        assert 0 < body["expires_in"] <= 900
        assert (await validate(http, body["access_token"], "things:read")).status_code == 200
        old = await validate(http, issued.access_token, "things:read")
    assert old.status_code == 401
    assert old.json()["error"] == "token_revoked"


async def test_reused_refresh_token_revokes_the_family_over_http(daemon: RunningDaemon) -> None:
    issued = daemon.create_family(SCOPES)
    async with checking_client(daemon.url) as http:
        first = await http.post("/agent-auth/v1/token/refresh", json={"refresh_token": issued.refresh_token})
        assert first.status_code == 200
        reuse = await http.post("/agent-auth/v1/token/refresh", json={"refresh_token": issued.refresh_token})
        assert reuse.status_code == 401
        assert reuse.json()["error"] == "refresh_token_reuse_detected"
        newest = await validate(http, first.json()["access_token"], "things:read")
        assert newest.status_code == 401
        assert newest.json()["error"] == "token_revoked"
        after = await http.post("/agent-auth/v1/token/refresh", json={"refresh_token": first.json()["refresh_token"]})
    assert after.status_code == 401
    assert after.json()["error"] == "family_revoked"


async def test_refresh_refuses_expired_forged_and_access_tokens(daemon: RunningDaemon) -> None:
    expired = daemon.create_family(SCOPES, now=time.time() - 200, access_ttl_seconds=50, refresh_ttl_seconds=100)
    live = daemon.create_family(SCOPES)
    async with checking_client(daemon.url) as http:
        codes = []
        for token in (expired.refresh_token, live.access_token, "rt_" + "0" * 32 + "_x"):
            response = await http.post("/agent-auth/v1/token/refresh", json={"refresh_token": token})
            assert response.status_code == 401
            codes.append(response.json()["error"])
    assert codes == ["refresh_token_expired", "invalid_token", "invalid_token"]


async def test_token_status_describes_access_and_refresh_tokens(daemon: RunningDaemon) -> None:
    issued = daemon.create_family(SCOPES)
    async with checking_client(daemon.url) as http:
        access = await http.get(
            "/agent-auth/v1/token/status", headers={"Authorization": f"Bearer {issued.access_token}"}
        )
        refresh = await http.get(
            "/agent-auth/v1/token/status", headers={"Authorization": f"Bearer {issued.refresh_token}"}
        )
    assert access.status_code == 200 and refresh.status_code == 200
    assert access.json()["type"] == "access" and refresh.json()["type"] == "refresh"
    assert access.json()["family_id"] == issued.family_id
    assert access.json()["scopes"] == SCOPES
    assert access.json()["revoked"] is False
    assert 0 < access.json()["expires_in"] <= 900


async def test_token_status_without_or_with_a_forged_bearer_is_401(daemon: RunningDaemon) -> None:
    async with checking_client(daemon.url) as http:
        missing = await http.get("/agent-auth/v1/token/status")
        basic = await http.get("/agent-auth/v1/token/status", headers={"Authorization": "Basic abc"})
        forged = await http.get("/agent-auth/v1/token/status", headers={"Authorization": "Bearer aa_x_y"})
    assert (missing.status_code, missing.json()["error"]) == (401, "missing_token")
    assert missing.headers["www-authenticate"] == "Bearer"
    assert (basic.status_code, basic.json()["error"]) == (401, "missing_token")
    assert (forged.status_code, forged.json()["error"]) == (401, "invalid_token")


async def test_two_hundred_concurrent_validates_all_succeed(daemon: RunningDaemon) -> None:
    issued = daemon.create_family(SCOPES)
    statuses: list[int] = []
    limits = httpx2.Limits(max_connections=50)
    async with checking_client(daemon.url, limits=limits, timeout=30) as http:

        async def one() -> None:
            statuses.append((await validate(http, issued.access_token, "things:read")).status_code)

        with anyio.fail_after(30):
            async with anyio.create_task_group() as tg:
                for _ in range(200):
                    tg.start_soon(one)
    assert statuses == [200] * 200


async def test_a_family_over_its_rate_limit_gets_429_with_retry_after(start: object) -> None:
    daemon: RunningDaemon = start(rate_limit_per_minute=5)  # type: ignore[operator]
    issued = daemon.create_family(SCOPES)
    other = daemon.create_family(SCOPES)
    async with checking_client(daemon.url) as http:
        for _ in range(5):
            assert (await validate(http, issued.access_token, "things:read")).status_code == 200
        limited = await validate(http, issued.access_token, "things:read")
        unaffected = await validate(http, other.access_token, "things:read")
    assert limited.status_code == 429
    assert limited.json()["error"] == "rate_limited"
    retry_after = int(limited.headers["retry-after"])
    assert 1 <= retry_after <= math.ceil(60 / 5)
    assert unaffected.status_code == 200


async def test_every_decision_is_audited_with_its_outcome(daemon: RunningDaemon) -> None:
    issued = daemon.create_family(SCOPES)
    async with checking_client(daemon.url) as http:
        await validate(http, issued.access_token, "things:read")
        await validate(http, issued.access_token, "things:write")
    import json

    entries = [json.loads(line) for line in daemon.settings.audit_log_path.read_text().splitlines()]
    decisions = [(e.get("outcome"), e.get("scope"), e.get("reason")) for e in entries if e.get("event") == "decision"]
    assert ("allow", "things:read", "allow_tier") in decisions
    assert ("deny", "things:write", "scope_denied") in decisions
