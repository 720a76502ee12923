"""Benchmark the Things tools end to end: MCP in-memory calls behind the gate, and ``things-cli``.

Run: ``.venv/bin/python benchmarks/bench_things_mcp.py [--todos N] [--repeat R] [--cli-repeat C]``

On a 10 000 to-do sample database, every list view and search goes through the SDK's in-memory
``Client`` into the daemon's gate middleware and the tool (target: median <= 50 ms each). Each row is
also shown as a ratio to two baselines measured in the same run: the same query called directly on
``ThingsService`` (what the MCP layer adds), and a trivial gated tool (the MCP + gate floor).
``things-cli todos list --json`` runs as a fresh process against a real daemon on 127.0.0.1
(target: median <= 150 ms), against the baseline of starting the interpreter with ``-c pass``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import anyio
import anyio.lowlevel
from mcp import Client
from pydantic import BaseModel

from auth.scopes import Tier
from mcp_server.daemon.compose import compose
from mcp_server.daemon.serve import open_context, run
from mcp_server.integrations.things import Things
from mcp_server.integrations.things.mcp_tools import tool_specs
from mcp_server.integrations.things.source import build_source, local_zone
from mcp_server.mcp.registry import ToolRegistry, ToolSpec
from mcp_server.mcp.server import build_mcp_server
from mcp_server.settings import load_settings
from tools.things.dates import local_today
from tools.things.sample import generate

MCP_TARGET_MS = 50.0
CLI_TARGET_MS = 150.0
LISTS = ("inbox", "today", "upcoming", "anytime", "someday", "logbook", "trash")


class Pong(BaseModel):
    ok: bool


def pong() -> Pong:
    """Answer at once (the floor of an MCP call through the gate)."""
    return Pong(ok=True)


async def median_ms_async(fn: Callable[[], Awaitable[object]], repeat: int) -> float:
    await fn()
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        await fn()
        samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(samples)


def median_ms(fn: Callable[[], object], repeat: int) -> float:
    fn()
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(samples)


def isolated_env(home: Path) -> dict[str, str]:
    runtime = Path(tempfile.mkdtemp(prefix="aa-bench-"))
    return {
        "HOME": str(home),
        "XDG_DATA_HOME": str(home / "data"),
        "XDG_STATE_HOME": str(home / "state"),
        "XDG_CONFIG_HOME": str(home / "config"),
        "XDG_RUNTIME_DIR": str(runtime),
        "AGENT_AUTH_KEY_STORE": "file",
        "AGENT_AUTH_PORT": "0",
        "AGENT_AUTH_RATE_LIMIT_PER_MINUTE": "1000000",
    }


async def bench_mcp(env: dict[str, str], database: Path, repeat: int) -> list[tuple[str, float, float]]:
    settings = load_settings(env=env, overrides={"things_database": database})
    ctx = open_context(settings)
    try:
        source = build_source(database, settings.data_dir)
        specs = tool_specs(source.service)
        specs.append(ToolSpec(name="pong", fn=pong, scope="things:read", description="floor", read_only=True))
        token = ctx.authority.create_family({"things:read": Tier.ALLOW}).access_token
        server, _ = build_mcp_server(ctx.gate, ToolRegistry(specs), token_source=lambda _c: token)
        service = source.service
        anytime = service.list_todos(list="anytime", limit=1).items[0].id
        cases: list[tuple[str, str, dict[str, Any], Callable[[], object]]] = [
            (f"list {name}", "things_list_todos", {"list": name}, lambda n=name: service.list_todos(list=n, limit=50))  # type: ignore[misc]
            for name in LISTS
        ]
        cases += [
            (
                "list all open",
                "things_list_todos",
                {"status": "open"},
                lambda: service.list_todos(status="open", limit=50),
            ),
            ("list by tag", "things_list_todos", {"tag": "Errand"}, lambda: service.list_todos(tag="Errand", limit=50)),
            ("list projects", "things_list_projects", {}, lambda: service.list_projects(limit=50)),
            ("list areas", "things_list_areas", {}, service.list_areas),
            ("list tags", "things_list_tags", {}, service.list_tags),
            ("search 'report'", "things_search", {"query": "report"}, lambda: service.search("report", limit=50)),
            ("get to-do", "things_get_todo", {"todo_id": anytime}, lambda: service.get_todo(anytime)),
        ]
        rows: list[tuple[str, float, float]] = []
        async with Client(server) as client:

            async def call(name: str, arguments: dict[str, Any]) -> None:
                result = await client.call_tool(name, arguments)
                if result.is_error:
                    raise RuntimeError(f"{name} failed: {result.content}")

            floor = await median_ms_async(lambda: call("pong", {}), repeat)
            rows.append(("(floor: trivial gated tool)", floor, 0.0))
            for label, tool, arguments, direct in cases:
                mcp_ms = await median_ms_async(lambda t=tool, a=arguments: call(t, a), repeat)  # type: ignore[misc]
                rows.append((label, mcp_ms, median_ms(direct, repeat)))
        return rows
    finally:
        ctx.gate.close()
        ctx.authority.audit.close()
        ctx.authority.db.dispose()


def bench_cli(env: dict[str, str], database: Path, repeat: int) -> tuple[float, float, int]:
    settings = load_settings(env=env, overrides={"things_database": database})
    ctx = open_context(settings)
    token = ctx.authority.create_family({"things:read": Tier.ALLOW}).access_token
    ready = threading.Event()
    handles: dict[str, Any] = {}

    async def serve() -> None:
        handles["token"] = anyio.lowlevel.current_token()
        handles["stop"] = stop = anyio.Event()
        await run(
            settings,
            ctx=ctx,
            on_ready=lambda _c: ready.set(),
            customize=lambda c: compose(c, [Things()]),
            stop=stop,
        )

    thread = threading.Thread(target=anyio.run, args=(serve,), daemon=True)
    thread.start()
    if not ready.wait(15):
        raise SystemExit("the daemon did not start")
    assert ctx.url is not None
    cli_env = {**os.environ, "AGENT_AUTH_URL": ctx.url, "AGENT_AUTH_TOKEN": token}
    argv = [sys.executable, "-m", "mcp_server.things_cli", "todos", "list", "--json"]
    sizes: list[int] = []

    def once() -> None:
        done = subprocess.run(argv, env=cli_env, capture_output=True, check=True)
        sizes.append(len(done.stdout))

    try:
        cli_ms = median_ms(once, repeat)
        python_ms = median_ms(lambda: subprocess.run([sys.executable, "-c", "pass"], check=True), repeat)
    finally:
        anyio.from_thread.run_sync(handles["stop"].set, token=handles["token"])
        thread.join(20)
    return cli_ms, python_ms, sizes[-1]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--todos", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--cli-repeat", type=int, default=15)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        database = root / "things.sqlite"
        started = time.perf_counter()
        today = local_today(datetime.now(UTC), local_zone())
        sample = generate(database, todos=args.todos, today=today, seed=1)
        print(f"generated {sample.todo_count} to-dos in {time.perf_counter() - started:.2f} s\n")

        rows = anyio.run(bench_mcp, isolated_env(root / "mcp"), database, args.repeat)
        floor = rows[0][1]
        print(
            f"{'MCP in-memory (median of ' + str(args.repeat) + ')':<30} {'MCP ms':>8} {'direct ms':>10} "
            f"{'x direct':>9} {'x floor':>8}  target <= {MCP_TARGET_MS:.0f} ms"
        )
        for label, mcp_ms, direct_ms in rows:
            ratio = f"{mcp_ms / direct_ms:8.1f}x" if direct_ms else f"{'':>9}"
            verdict = "ok" if mcp_ms <= MCP_TARGET_MS else "OVER"
            print(f"{label:<30} {mcp_ms:8.2f} {direct_ms:10.2f} {ratio} {mcp_ms / floor:7.1f}x  {verdict}")

        cli_ms, python_ms, size = bench_cli(isolated_env(root / "cli"), database, args.cli_repeat)
        print(f"\nthings-cli todos list --json (median of {args.cli_repeat}, {size} bytes of JSON, 500 to-dos)")
        verdict = "ok" if cli_ms <= CLI_TARGET_MS else "OVER"
        print(
            f"  end to end {cli_ms:7.1f} ms   python -c pass {python_ms:6.1f} ms   "
            f"ratio {cli_ms / python_ms:4.1f}x   target <= {CLI_TARGET_MS:.0f} ms  {verdict}"
        )


if __name__ == "__main__":
    main()
