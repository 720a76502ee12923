"""MCP ``tools/call`` of a trivial allow-tier tool, gated (the daemon's) against an ungated ``MCPServer``.

In memory: ``build_mcp_server`` around the daemon's gate vs an ``MCPServer`` with the same tool, both
through the SDK's in-memory ``Client``. Over streamable HTTP: the real daemon's ``/mcp`` (bearer check, the
403 pre-check, the gate middleware, the audit entry) vs the ungated server on the same uvicorn config,
both driven by the SDK's client on one event loop, in alternating rounds.
"""

from __future__ import annotations

import time
from typing import Any

import anyio
import httpx2
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from benchmarks._harness import Row, Stats, fmt_ms, isolated_env, verdict
from benchmarks._http import start_server
from benchmarks._servers import ping_spec, ungated_server
from benchmarks._store import create_store
from mcp_server.daemon.serve import open_context
from mcp_server.mcp.registry import ToolRegistry
from mcp_server.mcp.server import build_mcp_server
from mcp_server.settings import load_settings

IN_MEMORY_RATIO = 1.15  # gated p50 over ungated p50
HTTP_ADDED_MS = 0.15  # gated p50 minus ungated p50


async def _calls_ms(client: Client, count: int) -> list[float]:
    samples = []
    for number in range(count):
        start = time.perf_counter_ns()
        result = await client.call_tool("ping", {"text": f"x{number}"})
        samples.append((time.perf_counter_ns() - start) / 1e6)
        if result.is_error:
            raise RuntimeError(f"ping failed: {result.content}")
    return samples


async def _interleave(clients: dict[str, Client], count: int, rounds: int) -> dict[str, Stats]:
    for client in clients.values():
        await _calls_ms(client, max(20, count // 5))  # warm-up
    pooled: dict[str, list[float]] = {name: [] for name in clients}
    names = list(clients)
    for number in range(rounds):
        for name in names if number % 2 == 0 else reversed(names):
            pooled[name] += await _calls_ms(clients[name], count)
    return {name: Stats.of(s) for name, s in pooled.items()}


async def _in_memory(env: dict[str, str], token: str, count: int, rounds: int) -> dict[str, Stats]:
    ctx = open_context(load_settings(env=env))
    try:
        gated, _ = build_mcp_server(ctx.gate, ToolRegistry([ping_spec()]), token_source=lambda _c: token)
        async with Client(gated) as g, Client(ungated_server()) as u:
            return await _interleave({"gated": g, "ungated": u}, count, rounds)
    finally:
        ctx.gate.close()
        ctx.authority.audit.close()
        ctx.authority.db.dispose()


async def _over_http(daemon_url: str, ungated_url: str, token: str, count: int, rounds: int) -> dict[str, Stats]:
    headers: dict[str, Any] = {"Authorization": f"Bearer {token}"}
    async with (
        httpx2.AsyncClient(headers=headers) as gh,
        httpx2.AsyncClient() as uh,
        Client(streamable_http_client(f"{daemon_url}/mcp", http_client=gh)) as g,
        Client(streamable_http_client(f"{ungated_url}/mcp", http_client=uh)) as u,
    ):
        return await _interleave({"gated": g, "ungated": u}, count, rounds)


def run(quick: bool) -> list[Row]:
    mem_count, http_count, rounds = (200, 60, 4) if quick else (500, 150, 10)
    with isolated_env() as env:
        store = create_store(env)
        mem = anyio.run(_in_memory, env, store.access_token, mem_count, rounds)
        daemon = start_server("daemon", env)
        ungated = start_server("ungated")
        try:
            http = anyio.run(_over_http, daemon.url, ungated.url, store.access_token, http_count, rounds)
        finally:
            daemon.stop()
            ungated.stop()
    mg, mu = mem["gated"], mem["ungated"]
    hg, hu = http["gated"], http["ungated"]
    added = hg.median - hu.median
    return [
        Row(
            "mcp",
            "MCP tools/call, in memory",
            f"p50 {fmt_ms(mg.median)} / p99 {fmt_ms(mg.p99)}",
            f"ungated p50 {fmt_ms(mu.median)} / p99 {fmt_ms(mu.p99)}",
            f"{mg.median / mu.median:.3f}x",
            f"≤ {IN_MEMORY_RATIO:.2f}x",
            verdict(mg.median <= IN_MEMORY_RATIO * mu.median),
            f"{mg.count} calls per side, {rounds} interleaved rounds",
            {"gated": mg.__dict__, "ungated": mu.__dict__},
        ),
        Row(
            "mcp",
            "MCP tools/call, streamable HTTP",
            f"p50 {fmt_ms(hg.median)} / p99 {fmt_ms(hg.p99)}",
            f"ungated p50 {fmt_ms(hu.median)} / p99 {fmt_ms(hu.p99)}",
            f"{added:+.2f} ms",
            f"≤ +{HTTP_ADDED_MS:.2f} ms",
            verdict(added <= HTTP_ADDED_MS),
            f"{hg.count} calls per side, {rounds} interleaved rounds; SDK client, 2026-07-28 protocol",
            {"gated": hg.__dict__, "ungated": hu.__dict__},
        ),
    ]


if __name__ == "__main__":
    for row in run(quick=True):
        print(row.what, "|", row.value, "|", row.baseline, "|", row.ratio, "|", row.verdict)
