"""One decision record per call, the same shape on every surface, including MCP calls cancelled mid-wait."""

from __future__ import annotations

import json
from typing import Any

import anyio
import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from auth.decision_record import RECORD_FIELDS
from tests.reliability.mcp_wire import McpWire
from tests.support.approvals import wait_until
from tests.support.daemon import RunningDaemon

ENVELOPE = {"seq", "ts", "event", "prev", "mac"}


def decisions(daemon: RunningDaemon) -> list[dict[str, Any]]:
    lines = daemon.settings.audit_log_path.read_text(encoding="utf-8").splitlines()
    return [e for e in map(json.loads, lines) if e["event"] == "decision"]


def test_every_surface_leaves_exactly_one_decision_record_of_one_shape(full_daemon: RunningDaemon) -> None:
    token = full_daemon.create_family({"things:read": "allow", "gpg:verify": "allow"}).access_token
    bearer = {"Authorization": f"Bearer {token}"}
    calls = [
        (
            "rest",
            "validate",
            lambda http: http.post("/agent-auth/v1/validate", json={"token": token, "required_scope": "things:read"}),
        ),
        ("rest", "GET /things-bridge/v1/areas", lambda http: http.get("/things-bridge/v1/areas", headers=bearer)),
        (
            "rest",
            "POST /gpg-bridge/v1/sign",
            lambda http: http.post("/gpg-bridge/v1/sign", json={"local_user": "x", "payload_b64": ""}, headers=bearer),
        ),
        (
            "rest",
            "POST /gpg-bridge/v1/verify",
            lambda http: http.post(
                "/gpg-bridge/v1/verify", json={"signature_b64": "", "payload_b64": ""}, headers=bearer
            ),
        ),
        (
            "mcp",
            "things_list_areas",
            lambda http: wire.call("tools/call", {"name": "things_list_areas", "arguments": {}}),
        ),
        ("mcp", "gpg_sign", lambda http: wire.call("tools/call", {"name": "gpg_sign", "arguments": {}})),
    ]
    with httpx2.Client(base_url=full_daemon.url, timeout=30) as http:
        wire = McpWire(http, token)
        wire.open()
        for surface, target, make_call in calls:
            before = len(decisions(full_daemon))
            make_call(http)
            new = decisions(full_daemon)[before:]
            assert [(e["surface"], e["target"]) for e in new] == [(surface, target)]
            assert set(new[0]) == set(RECORD_FIELDS) | ENVELOPE, new[0]


@pytest.mark.anyio
async def test_an_mcp_call_cancelled_while_a_person_decides_is_recorded_as_cancelled_and_withdrawn(
    full_daemon: RunningDaemon,
) -> None:
    token = full_daemon.create_family({"things:write": "prompt"}).access_token
    broker = full_daemon.ctx.broker
    async with (
        httpx2.AsyncClient(headers={"Authorization": f"Bearer {token}"}, timeout=30) as http,
        Client(streamable_http_client(f"{full_daemon.url}/mcp", http_client=http)) as client,
    ):
        with anyio.CancelScope() as scope:

            async def cancel_once_pending() -> None:
                await wait_until(lambda: bool(broker.pending()))
                scope.cancel()

            async with anyio.create_task_group() as tg:
                tg.start_soon(cancel_once_pending)
                await client.call_tool("things_add_todo", {"title": "never"})
        await wait_until(lambda: any(e["reason"] == "cancelled" for e in decisions(full_daemon)))
    [record] = decisions(full_daemon)
    assert (record["target"], record["outcome"], record["reason"], record["result"]) == (
        "things_add_todo",
        "deny",
        "cancelled",
        "refused",
    )
    assert broker.pending() == []
    # The approval was withdrawn (its caller went away): the TUI shows it so, and approving it does nothing.
    withdrawn = broker.history[0]
    assert withdrawn["status"] == "withdrawn"
    assert record["approval_id"] == withdrawn["id"]  # the record names the approval the call waited on
    assert broker.decide(withdrawn["id"], approved=True, decided_by="test") is None
