"""One principal per request: a ``tools/call`` over streamable HTTP authenticates its token exactly once and
charges the rate limit exactly once, at the allow and at the prompt tier (a real daemon, raw JSON-RPC)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx2
import pytest

from auth.gate import Principal
from mcp_server.mcp.http_gate import INSUFFICIENT_SCOPE_ERROR_CODE
from tests.mcp.conftest import StartDaemon
from tests.mcp.mcp_test_support import READ_SCOPE, WRITE_SCOPE
from tests.reliability.mcp_wire import McpWire
from tests.support.daemon import RunningDaemon


@contextmanager
def counting_authentications(daemon: RunningDaemon) -> Iterator[list[str]]:
    """Every call of the gate's one authentication (``Gate.authenticate``), by token id, while inside."""
    gate = daemon.ctx.gate
    original = gate.authenticate
    seen: list[str] = []

    def counted(token: str, now: float | None = None) -> Principal:
        principal = original(token, now)
        seen.append(principal.token_id)
        return principal

    gate.authenticate = counted  # type: ignore[method-assign]
    try:
        yield seen
    finally:
        del gate.authenticate


def approve_every_request(daemon: RunningDaemon, **decision: Any) -> None:
    """A scripted person who approves each prompt the moment it is created (on the daemon's loop)."""
    broker = daemon.ctx.broker

    def listener(kind: str, data: dict[str, Any]) -> None:
        if kind == "approval.created":
            broker.decide(data["id"], approved=True, decided_by="test", **decision)

    daemon.in_loop(lambda: broker.subscribe(listener))


def call(wire: McpWire, tool: str, arguments: dict[str, Any]) -> dict[str, Any]:
    reply = wire.call("tools/call", {"name": tool, "arguments": arguments})
    assert reply.status == 200, reply.text
    result = reply.body["result"]
    assert isinstance(result, dict)
    return result


@contextmanager
def session(daemon: RunningDaemon, token: str) -> Iterator[McpWire]:
    with httpx2.Client(base_url=daemon.url, timeout=20) as http:
        wire = McpWire(http, token)
        wire.open()
        yield wire


@pytest.mark.parametrize(
    "tool, arguments", [("read_note", {"title": "a"}), ("write_note", {"title": "t", "body": "b"})]
)
def test_a_tools_call_authenticates_its_token_once_at_the_allow_and_the_prompt_tier(
    start_daemon: StartDaemon, tool: str, arguments: dict[str, Any]
) -> None:
    daemon = start_daemon()
    family = daemon.create_family({READ_SCOPE: "allow", WRITE_SCOPE: "prompt"})
    approve_every_request(daemon)
    with session(daemon, family.access_token) as wire, counting_authentications(daemon) as seen:
        result = call(wire, tool, arguments)
    assert result.get("isError") is not True, result
    assert len(seen) == 1, f"{len(seen)} authentications for one {tool} call"


def test_a_refused_tools_call_authenticates_once_too(start_daemon: StartDaemon) -> None:
    daemon = start_daemon()
    family = daemon.create_family({READ_SCOPE: "allow", "notes:admin": "deny"})
    with session(daemon, family.access_token) as wire, counting_authentications(daemon) as seen:
        reply = wire.call("tools/call", {"name": "purge_notes", "arguments": {}})
    assert reply.status == 403 and reply.body["error"]["code"] == INSUFFICIENT_SCOPE_ERROR_CODE
    assert len(seen) == 1


def test_an_approved_prompt_call_charges_the_rate_limit_once(start_daemon: StartDaemon) -> None:
    """The issue's reproduction: rate_limit_per_minute=2, one approved prompt-tier call, then an allow-tier
    call must run (it was refused "wait 29s" when the prompt call charged the bucket twice)."""
    daemon = start_daemon(rate_limit_per_minute=2)
    family = daemon.create_family({READ_SCOPE: "allow", WRITE_SCOPE: "prompt"})
    approve_every_request(daemon)
    with session(daemon, family.access_token) as wire:
        written = call(wire, "write_note", {"title": "t", "body": "b"})
        read = call(wire, "read_note", {"title": "a"})
        third = call(wire, "read_note", {"title": "b"})
    assert written.get("isError") is not True, written
    assert read.get("isError") is not True, read
    # Charged once each, not zero times: the bucket of two is empty now.
    assert third.get("isError") is True and "Too many calls" in third["content"][0]["text"]
