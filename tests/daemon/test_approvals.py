"""Prompt-tier approvals over real HTTP, decided by a scripted admin-socket subscriber or HTTP notifier."""

from __future__ import annotations

import socket
from typing import Any

import anyio
import httpx2
import pytest

from auth.admin_client import AdminError
from mcp_server.daemon.context import DaemonContext
from mcp_server.daemon.notifier import HttpNotifierChannel
from tests.support.approvals import ScriptedNotifier, admin_subscriber, scripted_notifier, wait_until
from tests.support.daemon import RunningDaemon
from tests.support.openapi import checking_client

pytestmark = pytest.mark.anyio

SCOPES = {"things:read": "allow", "gpg:sign": "prompt"}
VALIDATE = "/agent-auth/v1/validate"


class Call:
    """An HTTP call started in a task group; ``response`` is set when it completes."""

    def __init__(self) -> None:
        self.response: httpx2.Response | None = None
        self.done = anyio.Event()

    @classmethod
    def start(cls, tg: anyio.abc.TaskGroup, http: httpx2.AsyncClient, body: dict[str, Any]) -> Call:
        call = cls()

        async def run() -> None:
            call.response = await http.post(VALIDATE, json=body)
            call.done.set()

        tg.start_soon(run)
        return call

    async def result(self, timeout_seconds: float = 15) -> httpx2.Response:
        with anyio.fail_after(timeout_seconds):
            await self.done.wait()
        assert self.response is not None
        return self.response


def prompt_body(token: str, description: str = "sign commit abc123") -> dict[str, Any]:
    return {"token": token, "required_scope": "gpg:sign", "description": description}


def with_notifier(url: str, secret: bytes) -> Any:
    """A ``prepare`` hook adding the HTTP notifier channel as mcp_server.daemon.compose does."""

    def prepare(ctx: DaemonContext) -> None:
        ctx.broker.add_channel(
            HttpNotifierChannel(url, secret=secret, timeout_seconds=ctx.settings.notification_timeout_seconds)
        )

    return prepare


# --- the admin socket's live stream -------------------------------------------------------------


async def test_a_prompt_approved_once_on_the_admin_socket_validates_and_asks_again_next_time(
    daemon: RunningDaemon,
) -> None:
    issued = daemon.create_family(SCOPES, label="laptop")
    async with (
        admin_subscriber(daemon.admin_socket) as sub,
        checking_client(daemon.url, timeout=30) as http,
        anyio.create_task_group() as tg,
    ):
        call = Call.start(tg, http, prompt_body(issued.access_token))
        created = await sub.next_event("approval.created")
        assert (created["family_id"], created["label"], created["scope"]) == (
            issued.family_id,
            "laptop",
            "gpg:sign",
        )
        # The headline is the server's; the caller's description is shown apart, as its own words.
        assert (
            created["summary"]
            == "A caller asks to use scope gpg:sign (a /validate check: agent-auth runs nothing itself)"
        )
        assert created["claim"] == "sign commit abc123"
        assert created["status"] == "pending"
        await sub.decide(created["id"], "approve")
        response = await call.result()
        assert response.status_code == 200
        assert response.json() == {"valid": True, "tier": "prompt"}

        again = Call.start(tg, http, prompt_body(issued.access_token))
        second = await sub.next_event("approval.created")
        assert second["id"] != created["id"]
        await sub.decide(second["id"], "deny")
        assert (await again.result()).status_code == 403


async def test_a_timed_grant_is_reused_without_a_second_prompt(daemon: RunningDaemon) -> None:
    issued = daemon.create_family(SCOPES)
    async with (
        admin_subscriber(daemon.admin_socket) as sub,
        checking_client(daemon.url, timeout=30) as http,
        anyio.create_task_group() as tg,
    ):
        call = Call.start(tg, http, prompt_body(issued.access_token))
        created = await sub.next_event("approval.created")
        decided = await sub.decide(created["id"], "approve", grant="timed", duration_minutes=5)
        assert decided["decision"]["grant"] == "timed"
        assert (await call.result()).status_code == 200
        with anyio.fail_after(5):
            second = await http.post(VALIDATE, json=prompt_body(issued.access_token, "another commit"))
        assert second.status_code == 200
        listing = await sub.calls.call("approvals.list")
    assert listing["pending"] == []
    assert len(listing["history"]) == 1
    assert [(g["family_id"], g["scope"]) for g in listing["grants"]] == [(issued.family_id, "gpg:sign")]


async def test_a_timed_grant_ends_when_the_family_is_revoked(daemon: RunningDaemon) -> None:
    issued = daemon.create_family(SCOPES)
    async with (
        admin_subscriber(daemon.admin_socket) as sub,
        checking_client(daemon.url, timeout=30) as http,
        anyio.create_task_group() as tg,
    ):
        call = Call.start(tg, http, prompt_body(issued.access_token))
        created = await sub.next_event("approval.created")
        await sub.decide(created["id"], "approve", grant="timed", duration_minutes=5)
        assert (await call.result()).status_code == 200
        await sub.calls.call("families.revoke", family_id=issued.family_id)
        listing = await sub.calls.call("approvals.list")
        response = await http.post(VALIDATE, json=prompt_body(issued.access_token))
    assert listing["grants"] == []
    assert response.status_code == 401
    assert response.json()["error"] == "token_revoked"


async def test_a_prompt_denied_on_the_admin_socket_is_scope_denied(daemon: RunningDaemon) -> None:
    issued = daemon.create_family(SCOPES)
    async with (
        admin_subscriber(daemon.admin_socket) as sub,
        checking_client(daemon.url, timeout=30) as http,
        anyio.create_task_group() as tg,
    ):
        call = Call.start(tg, http, prompt_body(issued.access_token))
        created = await sub.next_event("approval.created")
        await sub.decide(created["id"], "deny", decided_by="tester")
        decided = await sub.next_event("approval.decided")
        response = await call.result()
    assert response.status_code == 403
    assert response.json()["error"] == "scope_denied"
    assert response.json()["detail"] == "denied"
    assert decided["status"] == "denied"
    assert decided["decision"]["decided_by"].startswith("admin-socket uid=")  # the channel, not the claim
    assert decided["decision"]["decided_by_claim"] == "tester"


async def test_a_prompt_nobody_answers_times_out_as_scope_denied(start: Any) -> None:
    daemon: RunningDaemon = start(approval_timeout_seconds=0.3)
    issued = daemon.create_family(SCOPES)
    async with admin_subscriber(daemon.admin_socket) as sub, checking_client(daemon.url, timeout=30) as http:
        with anyio.fail_after(10):
            response = await http.post(VALIDATE, json=prompt_body(issued.access_token))
        decided = await sub.next_event("approval.decided")
        with pytest.raises(AdminError) as late:
            await sub.decide(decided["id"], "approve")
    assert response.status_code == 403
    assert response.json()["detail"] == "timeout"
    assert decided["status"] == "timeout"
    assert late.value.code == "auth_error"


async def test_identical_pending_requests_share_one_approval(daemon: RunningDaemon) -> None:
    issued = daemon.create_family(SCOPES)
    async with (
        admin_subscriber(daemon.admin_socket) as sub,
        checking_client(daemon.url, timeout=30) as http,
        anyio.create_task_group() as tg,
    ):
        first = Call.start(tg, http, prompt_body(issued.access_token))
        created = await sub.next_event("approval.created")
        second = Call.start(tg, http, prompt_body(issued.access_token))
        await wait_until(lambda: [p.waiters for p in daemon.ctx.broker.pending()] == [2])
        await sub.decide(created["id"], "approve")
        responses = [await first.result(), await second.result()]
        listing = await sub.calls.call("approvals.list")
    assert [r.status_code for r in responses] == [200, 200]
    assert len(listing["history"]) == 1


async def test_a_family_with_too_many_open_approvals_is_refused_at_once(start: Any) -> None:
    daemon: RunningDaemon = start(max_pending_approvals_per_family=2)
    issued = daemon.create_family(SCOPES)
    other = daemon.create_family(SCOPES)
    async with (
        admin_subscriber(daemon.admin_socket) as sub,
        checking_client(daemon.url, timeout=30) as http,
        anyio.create_task_group() as tg,
    ):
        calls = [Call.start(tg, http, prompt_body(issued.access_token, f"commit {n}")) for n in range(2)]
        ids = [(await sub.next_event("approval.created"))["id"] for _ in range(2)]
        with anyio.fail_after(5):
            refused = await http.post(VALIDATE, json=prompt_body(issued.access_token, "commit 3"))
        assert refused.status_code == 403
        assert refused.json()["error"] == "scope_denied"
        assert refused.json()["detail"] == "too_many_pending"
        other_call = Call.start(tg, http, prompt_body(other.access_token, "commit 3"))
        other_created = await sub.next_event("approval.created")
        assert other_created["family_id"] == other.family_id
        for approval_id in [*ids, other_created["id"]]:
            await sub.decide(approval_id, "deny")
        assert [(await c.result()).status_code for c in [*calls, other_call]] == [403, 403, 403]


async def test_an_approval_for_a_family_revoked_meanwhile_is_not_honoured(daemon: RunningDaemon) -> None:
    issued = daemon.create_family(SCOPES)
    async with (
        admin_subscriber(daemon.admin_socket) as sub,
        checking_client(daemon.url, timeout=30) as http,
        anyio.create_task_group() as tg,
    ):
        call = Call.start(tg, http, prompt_body(issued.access_token))
        created = await sub.next_event("approval.created")
        await sub.calls.call("families.revoke", family_id=issued.family_id)
        await sub.decide(created["id"], "approve")
        response = await call.result()
    assert response.status_code == 401
    assert response.json()["error"] == "token_revoked"


async def test_a_timed_grant_needs_a_duration_in_range(daemon: RunningDaemon) -> None:
    issued = daemon.create_family(SCOPES)
    async with (
        admin_subscriber(daemon.admin_socket) as sub,
        checking_client(daemon.url, timeout=30) as http,
        anyio.create_task_group() as tg,
    ):
        call = Call.start(tg, http, prompt_body(issued.access_token))
        created = await sub.next_event("approval.created")
        codes = []
        for params in ({"grant": "timed"}, {"grant": "timed", "duration_minutes": 0}, {"grant": "forever"}):
            with pytest.raises(AdminError) as refused:
                await sub.decide(created["id"], "approve", **params)
            codes.append(refused.value.code)
        with pytest.raises(AdminError) as bad_decision:
            await sub.decide(created["id"], "maybe")
        await sub.decide(created["id"], "deny")
        assert (await call.result()).status_code == 403
    assert codes == ["invalid_params"] * 3
    assert bad_decision.value.code == "invalid_params"


# --- the HTTP notifier protocol (signed both ways) ----------------------------------------------


async def test_an_http_notifier_approving_once_allows_the_call(start: Any) -> None:
    with scripted_notifier([ScriptedNotifier.approve(), ScriptedNotifier.deny()]) as notifier:
        daemon: RunningDaemon = start(prepare=with_notifier(notifier.url, notifier.secret))
        issued = daemon.create_family(SCOPES)
        async with checking_client(daemon.url, timeout=30) as http:
            first = await http.post(VALIDATE, json=prompt_body(issued.access_token))
            second = await http.post(VALIDATE, json=prompt_body(issued.access_token))
    assert first.status_code == 200
    assert second.status_code == 403
    request = notifier.requests[0]
    assert {k: request[k] for k in ("family_id", "scope", "caller_says")} == {
        "family_id": issued.family_id,
        "scope": "gpg:sign",
        "caller_says": "sign commit abc123",
    }
    assert "gpg:sign" in request["description"] and "abc123" not in request["description"]
    assert request["nonce"] != notifier.requests[1]["nonce"]
    assert notifier.signed_requests == [True, True]
    assert len(notifier.requests) == 2


async def test_an_http_notifier_timed_grant_is_reused_without_asking_again(start: Any) -> None:
    with scripted_notifier([ScriptedNotifier.approve("timed", 10)]) as notifier:
        daemon: RunningDaemon = start(prepare=with_notifier(notifier.url, notifier.secret))
        issued = daemon.create_family(SCOPES)
        async with checking_client(daemon.url, timeout=30) as http:
            responses = [await http.post(VALIDATE, json=prompt_body(issued.access_token, f"c{n}")) for n in range(3)]
    assert [r.status_code for r in responses] == [200, 200, 200]
    assert len(notifier.requests) == 1


async def test_an_http_notifier_denying_is_scope_denied(start: Any) -> None:
    with scripted_notifier([ScriptedNotifier.deny()]) as notifier:
        daemon: RunningDaemon = start(prepare=with_notifier(notifier.url, notifier.secret))
        issued = daemon.create_family(SCOPES)
        async with checking_client(daemon.url, timeout=30) as http:
            response = await http.post(VALIDATE, json=prompt_body(issued.access_token))
    assert response.status_code == 403
    assert response.json()["detail"] == "denied"


async def test_a_notifier_that_is_down_denies(start: Any) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    daemon: RunningDaemon = start(prepare=with_notifier(f"http://127.0.0.1:{closed_port}/", b"s" * 32))
    issued = daemon.create_family(SCOPES)
    async with checking_client(daemon.url, timeout=30) as http:
        with anyio.fail_after(10):
            response = await http.post(VALIDATE, json=prompt_body(issued.access_token))
    assert response.status_code == 403
    assert response.json()["error"] == "scope_denied"
    history = daemon.ctx.broker.history
    assert history[0]["decision"]["decided_by"] == "http-notifier:error"


@pytest.mark.parametrize(
    "answer",
    [
        (200, b"not json"),
        (500, b'{"approved": true}'),
        (200, b'{"approved": "yes"}'),
        (200, b"[true]"),
        (200, b'{"approved": true, "grant_type": "forever"}'),
        (200, b'{"approved": true, "grant_type": "timed"}'),
        (200, b'{"approved": true, "grant_type": "timed", "duration_minutes": 100000}'),
    ],
    ids=["not-json", "http-500", "string-approved", "array", "unknown-grant", "timed-no-minutes", "timed-too-long"],
)
async def test_a_notifier_answering_garbage_denies(start: Any, answer: tuple[int, bytes]) -> None:
    with scripted_notifier([answer]) as notifier:
        daemon: RunningDaemon = start(prepare=with_notifier(notifier.url, notifier.secret))
        issued = daemon.create_family(SCOPES)
        async with checking_client(daemon.url, timeout=30) as http:
            response = await http.post(VALIDATE, json=prompt_body(issued.access_token))
    assert response.status_code == 403
    assert response.json()["error"] == "scope_denied"
    assert daemon.ctx.broker.grants() == []


async def test_the_admin_socket_can_decide_while_a_notifier_is_still_asking(start: Any) -> None:
    with scripted_notifier([ScriptedNotifier.deny()], hold=True) as notifier:
        daemon: RunningDaemon = start(prepare=with_notifier(notifier.url, notifier.secret))
        issued = daemon.create_family(SCOPES)
        async with (
            admin_subscriber(daemon.admin_socket) as sub,
            checking_client(daemon.url, timeout=30) as http,
            anyio.create_task_group() as tg,
        ):
            call = Call.start(tg, http, prompt_body(issued.access_token))
            created = await sub.next_event("approval.created")
            await anyio.to_thread.run_sync(notifier.received.wait, 10)
            await sub.decide(created["id"], "approve")
            response = await call.result()
    assert response.status_code == 200
