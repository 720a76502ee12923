"""Load: many MCP clients (allow, deny and prompt-tier calls) plus ``/validate`` traffic against a daemon process.

The daemon runs as its own process (``tests.reliability.load_daemon``) so its resident memory can be read
from the process table (``/proc`` or ``ps``) without the clients' memory in it. Each client opens its own MCP
session over streamable HTTP with its own family and cycles through: an allow-tier call (must succeed), a deny-tier
call (must be refused with 403 ``insufficient_scope``), and a prompt-tier call that a scripted approver on
the admin socket approves or denies by its title (must run, or be a tool error). Validate workers post
allow- and deny-tier checks. Every request must get its expected answer within a bound; nothing else may
happen. At the end no approval is pending, in the daemon's own broker, and resident memory after warm-up
stayed within ``RSS_GROWTH_BOUND_BYTES``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio
import httpx2
import pytest
from mcp import Client, MCPError
from mcp.client.streamable_http import streamable_http_client

from auth.admin_client import AdminConnection
from tests.mcp.mcp_test_support import ADMIN_SCOPE, READ_SCOPE
from tests.support.daemon import isolated_env
from tests.support.platform import rss_bytes

pytestmark = pytest.mark.anyio

HEAVY_CLIENTS = 200
HEAVY_SECONDS = 60.0
FAST_CLIENTS = 20
FAST_SECONDS = 6.0
VALIDATE_WORKERS = 8
REQUEST_BOUND_SECONDS = 30.0  # a request not answered within this is counted as lost
START_TIMEOUT_SECONDS = 60.0
# After warm-up (a fifth of the run) resident memory may grow by at most this much: sessions, caches and
# allocator slack settle early; a leak per request would pass this within seconds at these rates.
RSS_GROWTH_BOUND_BYTES = 48 * 1024 * 1024


@dataclass
class Tally:
    """What every request got back; anything unexpected is kept (first few) for the failure message."""

    outcomes: Counter[str] = field(default_factory=Counter)
    unexpected: list[str] = field(default_factory=list)
    sent: int = 0

    def expect(self, outcome: str) -> None:
        self.outcomes[outcome] += 1

    def wrong(self, what: str) -> None:
        self.outcomes["unexpected"] += 1
        if len(self.unexpected) < 10:
            self.unexpected.append(what)

    @property
    def answered(self) -> int:
        return sum(self.outcomes.values())


@dataclass
class LoadDaemon:
    process: subprocess.Popen[str]
    url: str
    admin_socket: Path
    tokens: list[str]

    def rss_bytes(self) -> int:
        return rss_bytes(self.process.pid)

    def finish(self) -> dict[str, Any]:
        """Ask for the broker's pending entries, then stop the daemon."""
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write("stop\n")
        self.process.stdin.flush()
        line = self.process.stdout.readline()
        self.process.wait(30)
        assert self.process.returncode == 0, self.process.stderr.read() if self.process.stderr else ""
        result = json.loads(line)
        assert isinstance(result, dict)
        return result


@contextmanager
def load_daemon(home: Path, families: int) -> Iterator[LoadDaemon]:
    with isolated_env(home, rate_limit_per_minute="10000000", approval_timeout_seconds="20") as env:
        process = subprocess.Popen(
            [sys.executable, "-m", "tests.reliability.load_daemon", str(families)],
            env={**os.environ, **env},
            cwd=Path(__file__).resolve().parents[2],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        try:
            assert process.stdout is not None
            ready = json.loads(process.stdout.readline())
            yield LoadDaemon(process, ready["url"], Path(ready["admin_socket"]), ready["tokens"])
        finally:
            if process.poll() is None:
                process.kill()
                process.wait(10)


async def approve_by_title(socket_path: Path, decided: Counter[str]) -> None:
    """Approve prompt requests whose title starts with ``yes``; deny the others. Runs until cancelled."""
    events = await AdminConnection.connect(socket_path)
    calls = await AdminConnection.connect(socket_path)
    async with events, calls:
        await events.call("subscribe", topics=["approvals"])
        async for message in events.events():
            if message["event"] != "approval.created":
                continue
            data = message["data"]
            decision = "approve" if "'yes" in data["summary"] else "deny"
            await calls.call("approvals.decide", approval_id=data["id"], decision=decision)
            decided[decision] += 1


async def mcp_worker(url: str, token: str, index: int, deadline: float, tally: Tally) -> None:
    mode = "legacy" if index % 2 else "auto"
    async with (
        httpx2.AsyncClient(headers={"Authorization": f"Bearer {token}"}, timeout=REQUEST_BOUND_SECONDS) as http,
        Client(streamable_http_client(f"{url}/mcp", http_client=http), mode=mode) as client,
    ):
        step = 0
        while time.monotonic() < deadline:
            kind = ("allow", "deny", "prompt_yes", "allow", "prompt_no")[step % 5]
            step += 1
            tally.sent += 1
            try:
                with anyio.fail_after(REQUEST_BOUND_SECONDS):
                    if kind == "allow":
                        result = await client.call_tool("read_note", {"title": f"n{index}"})
                        tally.expect("allow_ok") if not result.is_error else tally.wrong(f"allow: {result}")
                    elif kind == "deny":
                        try:
                            await client.call_tool("purge_notes", {})
                        except MCPError as refused:
                            data = refused.data or {}
                            if data.get("error") == "insufficient_scope" and data.get("scope") == ADMIN_SCOPE:
                                tally.expect("deny_refused")
                            else:
                                tally.wrong(f"deny: {refused!r} {data}")
                        else:
                            tally.wrong("deny: the denied tool answered")
                    else:
                        title = f"{'yes' if kind == 'prompt_yes' else 'no'}-{index}-{step}"
                        result = await client.call_tool("write_note", {"title": title, "body": "x"})
                        if kind == "prompt_yes" and not result.is_error:
                            tally.expect("prompt_approved_ran")
                        elif kind == "prompt_no" and result.is_error:
                            tally.expect("prompt_denied_tool_error")
                        else:
                            tally.wrong(f"{kind}: is_error={result.is_error} {result.content!r}"[:300])
            except TimeoutError:
                tally.wrong(f"{kind}: no answer within {REQUEST_BOUND_SECONDS} s")
            except Exception as exc:  # the load must record every failure, whatever its type
                tally.wrong(f"{kind}: {exc!r}"[:300])


async def validate_worker(url: str, token: str, deadline: float, tally: Tally) -> None:
    async with httpx2.AsyncClient(base_url=url, timeout=REQUEST_BOUND_SECONDS) as http:
        step = 0
        while time.monotonic() < deadline:
            scope = (READ_SCOPE, ADMIN_SCOPE)[step % 2]
            step += 1
            tally.sent += 1
            try:
                reply = await http.post("/agent-auth/v1/validate", json={"token": token, "required_scope": scope})
            except Exception as exc:  # recorded, not raised: one failure must not hide the others
                tally.wrong(f"validate: {exc!r}"[:300])
                continue
            if scope == READ_SCOPE and reply.status_code == 200 and reply.json()["valid"] is True:
                tally.expect("validate_ok")
            elif scope == ADMIN_SCOPE and reply.status_code == 403 and reply.json()["error"] == "scope_denied":
                tally.expect("validate_denied")
            else:
                tally.wrong(f"validate {scope}: {reply.status_code} {reply.text}"[:300])


async def run_load(home: Path, clients: int, seconds: float) -> dict[str, Any]:
    tally = Tally()
    decided: Counter[str] = Counter()
    rss: list[tuple[float, int]] = []
    with load_daemon(home, clients + VALIDATE_WORKERS) as daemon:
        started = time.monotonic()
        deadline = started + seconds
        async with anyio.create_task_group() as approver_group:
            approver_group.start_soon(approve_by_title, daemon.admin_socket, decided)
            async with anyio.create_task_group() as tg:
                for i in range(clients):
                    tg.start_soon(mcp_worker, daemon.url, daemon.tokens[i], i, deadline, tally)
                for j in range(VALIDATE_WORKERS):
                    tg.start_soon(validate_worker, daemon.url, daemon.tokens[clients + j], deadline, tally)
                while time.monotonic() < deadline:
                    rss.append((time.monotonic() - started, daemon.rss_bytes()))
                    await anyio.sleep(1.0)
            rss.append((time.monotonic() - started, daemon.rss_bytes()))
            async with await AdminConnection.connect(daemon.admin_socket) as admin:
                listed = await admin.call("approvals.list")
            approver_group.cancel_scope.cancel()
        elapsed = time.monotonic() - started
        finished = daemon.finish()
    warm = next(b for t, b in rss if t >= seconds / 5)
    figures = {
        "clients": clients,
        "validate_workers": VALIDATE_WORKERS,
        "seconds": round(elapsed, 1),
        "sent": tally.sent,
        "answered": tally.answered,
        "outcomes": dict(tally.outcomes),
        "approver": dict(decided),
        "rss_start_mib": round(rss[0][1] / 2**20, 1),
        "rss_warm_mib": round(warm / 2**20, 1),
        "rss_peak_mib": round(max(b for _, b in rss) / 2**20, 1),
        "rss_end_mib": round(rss[-1][1] / 2**20, 1),
        "pending_listed": len(listed["pending"]),
        "pending_in_broker": len(finished["pending"]),
        "tool_runs": finished["runs"],
    }
    print(json.dumps(figures))
    assert tally.unexpected == [], (tally.unexpected, figures)
    assert tally.answered == tally.sent, figures
    for outcome in ("allow_ok", "deny_refused", "prompt_approved_ran", "prompt_denied_tool_error", "validate_ok"):
        assert tally.outcomes[outcome] > 0, figures
    assert finished["pending"] == [] and listed["pending"] == [], figures
    # Only approved prompt calls ran write_note; the denied tier never ran.
    assert finished["runs"].get("write_note", 0) == tally.outcomes["prompt_approved_ran"], figures
    assert "purge_notes" not in finished["runs"], figures
    assert rss[-1][1] - warm <= RSS_GROWTH_BOUND_BYTES, figures
    return figures


@pytest.mark.heavy
async def test_two_hundred_mcp_clients_and_validate_traffic_for_a_minute_lose_nothing_and_leak_nothing(
    tmp_path: Path,
) -> None:
    await run_load(tmp_path / "home", HEAVY_CLIENTS, HEAVY_SECONDS)


# Time-boxed: on a busy machine the clients cannot finish their share, so it runs with the heavy suite.
@pytest.mark.heavy
async def test_a_short_load_of_mcp_clients_and_validate_traffic_loses_nothing_and_leaks_nothing(
    tmp_path: Path,
) -> None:
    await run_load(tmp_path / "home", FAST_CLIENTS, FAST_SECONDS)
