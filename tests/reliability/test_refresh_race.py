"""Concurrent refreshes over HTTP: distinct families never disturb each other; racers on one token are caught.

50 threads each refresh their own family's token at the same moment (a barrier releases them together):
every one succeeds and gets a working pair. 10 threads then present the same refresh token at the same
moment: exactly one gets a new pair; every other gets 401 ``refresh_token_reuse_detected`` (it saw the
consumed token and revoked the family) or ``family_revoked`` (it came after that revocation), and the family
ends revoked, so even the winner's new tokens no longer work.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx2
import pytest

from tests.support.daemon import RunningDaemon, isolated_env, start_daemon

pytestmark = pytest.mark.heavy

DISTINCT_REFRESHERS = 50
RACERS_ON_ONE_TOKEN = 10
BARRIER_TIMEOUT_SECONDS = 30.0
SCOPES = {"things:read": "allow"}


@pytest.fixture
def daemon(tmp_path: Path) -> Iterator[RunningDaemon]:
    with isolated_env(tmp_path / "home", rate_limit_per_minute="100000") as env:
        running = start_daemon(env)
        try:
            yield running
        finally:
            running.stop()


def together(count: int, fn: Callable[[int, httpx2.Client], Any], url: str) -> list[Any]:
    """Run ``fn(i, client)`` in ``count`` threads released at once (each with its own connection)."""
    barrier = threading.Barrier(count, timeout=BARRIER_TIMEOUT_SECONDS)
    results: list[Any] = [None] * count

    def body(i: int) -> None:
        with httpx2.Client(base_url=url, timeout=30) as http:
            http.get("/agent-auth/v1/health")  # connect before the barrier, so the requests really race
            barrier.wait()
            try:
                results[i] = fn(i, http)
            except Exception as exc:  # kept and asserted on by the caller
                results[i] = exc

    threads = [threading.Thread(target=body, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not any(thread.is_alive() for thread in threads), "a refresher never returned"
    return results


def refresh(http: httpx2.Client, refresh_token: str) -> tuple[int, dict[str, Any]]:
    reply = http.post("/agent-auth/v1/token/refresh", json={"refresh_token": refresh_token})
    body = reply.json()
    assert isinstance(body, dict)
    return reply.status_code, body


def validate(http: httpx2.Client, access_token: str) -> tuple[int, dict[str, Any]]:
    reply = http.post("/agent-auth/v1/validate", json={"token": access_token, "required_scope": "things:read"})
    body = reply.json()
    assert isinstance(body, dict)
    return reply.status_code, body


def test_fifty_concurrent_refreshers_on_distinct_families_all_succeed(daemon: RunningDaemon) -> None:
    families = [daemon.create_family(SCOPES, label=f"r{i}") for i in range(DISTINCT_REFRESHERS)]

    results = together(DISTINCT_REFRESHERS, lambda i, http: refresh(http, families[i].refresh_token), daemon.url)

    assert all(not isinstance(r, Exception) for r in results), results
    assert [status for status, _ in results] == [200] * DISTINCT_REFRESHERS, results
    with httpx2.Client(base_url=daemon.url, timeout=30) as http:
        for family, (_, body) in zip(families, results, strict=True):
            assert validate(http, body["access_token"])[0] == 200
            assert validate(http, family.access_token)[1]["error"] == "token_revoked"  # rotated away
        assert len({body["refresh_token"] for _, body in results}) == DISTINCT_REFRESHERS
    assert all(not f.revoked for f in daemon.ctx.authority.list_families())


def test_ten_racers_on_one_refresh_token_exactly_one_wins_and_the_family_ends_revoked(daemon: RunningDaemon) -> None:
    family = daemon.create_family(SCOPES, label="shared")

    results = together(RACERS_ON_ONE_TOKEN, lambda i, http: refresh(http, family.refresh_token), daemon.url)

    assert all(not isinstance(r, Exception) for r in results), results
    winners = [body for status, body in results if status == 200]
    losers = [(status, body.get("error")) for status, body in results if status != 200]
    assert len(winners) == 1, results
    assert {status for status, _ in losers} == {401}, losers
    codes = [code for _, code in losers]
    assert set(codes) <= {"refresh_token_reuse_detected", "family_revoked"}, codes
    assert "refresh_token_reuse_detected" in codes, codes
    assert "access_token" not in str(losers)
    info = daemon.ctx.authority.get_family(family.family_id)
    assert info.revoked and info.revoke_reason == "refresh_token_reuse_detected"
    with httpx2.Client(base_url=daemon.url, timeout=30) as http:
        assert validate(http, winners[0]["access_token"])[0] == 401
        status, body = refresh(http, winners[0]["refresh_token"])
        assert (status, body["error"]) == (401, "family_revoked")
