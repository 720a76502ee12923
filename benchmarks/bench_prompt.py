"""Request to prompt: how long a prompt-tier call takes to appear in the TUI's approvals table.

A real daemon (thread, 127.0.0.1:0, admin socket) and the real Textual app, headless, connected to it over
the admin socket. Each sample: an agent's prompt-tier ``POST /agent-auth/v1/validate`` is sent, and the
clock stops when its row is in the TUI's pending table (checked every 2 ms); the request is then denied.
Same-run baseline: an allow-tier ``/validate`` round trip on the same daemon. Target: p50 ≤ 200 ms.
Run: ``python -m benchmarks.bench_prompt``.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Any

import anyio
import httpx2
from textual.widgets import DataTable

from benchmarks._harness import percentile
from tests.support.daemon import isolated_env, start_daemon
from tui import AgentAuthApp, SocketBackend

SAMPLES = 30


async def measure(daemon: Any, prompt_token: str, allow_token: str) -> tuple[list[float], list[float]]:
    app = AgentAuthApp(SocketBackend(daemon.settings.admin_socket_path), reconnect_interval_seconds=0.05)
    prompt_ms: list[float] = []
    allow_ms: list[float] = []
    async with app.run_test(size=(120, 40)) as pilot, httpx2.AsyncClient(base_url=daemon.url, timeout=30) as http:
        with anyio.fail_after(10):
            while not app.hub.connected:
                await pilot.pause(0.01)
        table = app.screen.query_one("#pending", DataTable)
        for i in range(SAMPLES):
            started = time.perf_counter()
            await http.post("/agent-auth/v1/validate", json={"token": allow_token, "required_scope": "things:read"})
            allow_ms.append((time.perf_counter() - started) * 1000)
            async with anyio.create_task_group() as tg:
                body = {"token": prompt_token, "required_scope": "things:write", "description": f"sample {i}"}
                started = time.perf_counter()
                tg.start_soon(lambda b=body: http.post("/agent-auth/v1/validate", json=b))
                with anyio.fail_after(10):
                    while table.row_count == 0:
                        await pilot.pause(0.002)
                prompt_ms.append((time.perf_counter() - started) * 1000)
                [pending] = daemon.in_loop(daemon.ctx.broker.pending)
                daemon.in_loop(lambda p=pending: daemon.ctx.broker.decide(p.id, approved=False, decided_by="bench"))
            with anyio.fail_after(10):
                while table.row_count:
                    await pilot.pause(0.002)
    return prompt_ms, allow_ms


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="agent-auth-bench-") as home, isolated_env(Path(home)) as env:
        daemon = start_daemon(env, overrides={"rate_limit_per_minute": 100_000})
        try:
            prompt_token = daemon.create_family({"things:write": "prompt"}, label="bench").access_token
            allow_token = daemon.create_family({"things:read": "allow"}, label="bench").access_token
            prompt_ms, allow_ms = anyio.run(measure, daemon, prompt_token, allow_token)
        finally:
            daemon.stop()
    p50, p99 = percentile(prompt_ms, 0.5), percentile(prompt_ms, 0.99)
    base = percentile(allow_ms, 0.5)
    print(f"request → prompt row in the TUI: p50 {p50:.1f} ms / p99 {p99:.1f} ms ({SAMPLES} samples)")
    print(
        f"baseline, allow-tier /validate round trip: p50 {base:.1f} ms; target p50 ≤ 200 ms: "
        f"{'MET' if p50 <= 200 else 'MISSED'}"
    )


if __name__ == "__main__":
    main()
