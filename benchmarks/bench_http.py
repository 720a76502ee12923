"""``POST /agent-auth/v1/validate`` on the real daemon against a bare ASGI app on the same uvicorn config.

Rows: 1-client keep-alive latency, throughput at 4 and 16 connections, ``audit_fsync`` on vs off, resident
memory idle and after 50 000 and 100 000 validates.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from benchmarks._harness import Row, Stats, fmt_ms, interleave, isolated_env, verdict
from benchmarks._http import KeepAliveClient, LoadResult, ServerProcess, run_load, start_server, timed_posts_ms
from benchmarks._store import BENCH_SCOPE, create_store

VALIDATE = "/agent-auth/v1/validate"


def validate_body(token: str) -> bytes:
    return json.dumps({"token": token, "required_scope": BENCH_SCOPE}).encode()


def second_daemon_env(env: dict[str, str]) -> dict[str, str]:
    """A second daemon on the same store needs its own runtime dir (admin socket, daemon.json)."""
    runtime = Path(env["XDG_RUNTIME_DIR"]).with_name(f"r{len(list(Path(env['HOME']).glob('r*')))}")
    runtime.mkdir(mode=0o700)
    return {**env, "XDG_RUNTIME_DIR": str(runtime)}


def latency_case(server: ServerProcess, body: bytes, count: int) -> Callable[[], list[float]]:
    """One round: a fresh keep-alive connection (uvicorn drops idle ones after 5 s), one untimed request."""

    def case() -> list[float]:
        client = KeepAliveClient(*server.host_port)
        try:
            timed_posts_ms(client, VALIDATE, body, 1)
            return timed_posts_ms(client, VALIDATE, body, count)
        finally:
            client.close()

    return case


def _latency_row(what: str, a: Stats, b: Stats, baseline: str, target: str, ok: bool | None, note: str) -> Row:
    return Row(
        "http",
        what,
        f"p50 {fmt_ms(a.median)} / p99 {fmt_ms(a.p99)}",
        f"{baseline} p50 {fmt_ms(b.median)} / p99 {fmt_ms(b.p99)}",
        f"{a.median / b.median:.2f}x",
        target,
        "reported" if ok is None else verdict(ok),
        note,
        {"value": a.__dict__, "baseline": b.__dict__},
    )


def _median_load(results: list[LoadResult]) -> LoadResult:
    ordered = sorted(results, key=lambda r: r.rps)
    return ordered[len(ordered) // 2]


def run(quick: bool) -> list[Row]:
    rows: list[Row] = []
    count, rounds = (300, 5) if quick else (1000, 10)
    load_seconds, load_rounds = (2.0, 1) if quick else (4.0, 3)
    with isolated_env() as env:
        store = create_store(env)
        body = validate_body(store.access_token)
        daemon = start_server("daemon", env)
        fsync_daemon = start_server("daemon", second_daemon_env(env) | {"AGENT_AUTH_AUDIT_FSYNC": "true"})
        bare = start_server("bare")
        try:
            stats = interleave(
                {
                    "daemon": latency_case(daemon, body, count),
                    "bare": latency_case(bare, body, count),
                },
                rounds,
            )
            d, b = stats["daemon"], stats["bare"]
            rows.append(
                _latency_row(
                    "POST /validate, keep-alive, 1 client",
                    d,
                    b,
                    "bare ASGI",
                    "p50 ≤ 2x bare",
                    d.median <= 2 * b.median,
                    f"{d.count} requests per side, {rounds} interleaved rounds",
                )
            )
            fsync_count = 200 if quick else 500
            fs = interleave(
                {
                    "on": latency_case(fsync_daemon, body, fsync_count),
                    "off": latency_case(daemon, body, fsync_count),
                },
                3 if quick else 5,
            )
            rows.append(
                _latency_row(
                    "POST /validate with audit_fsync=true",
                    fs["on"],
                    fs["off"],
                    "audit_fsync=false",
                    "reported (fsync is opt-in)",
                    None,
                    "one fsync of the audit log per decision",
                )
            )
            fsync_daemon.stop()
            for connections in (4, 16):
                results: dict[str, list[LoadResult]] = {"daemon": [], "bare": []}
                for number in range(load_rounds):
                    order = ["daemon", "bare"] if number % 2 == 0 else ["bare", "daemon"]
                    for name in order:
                        server = daemon if name == "daemon" else bare
                        results[name].append(run_load(server.url + VALIDATE, body, connections, load_seconds))
                dl, bl = _median_load(results["daemon"]), _median_load(results["bare"])
                share = dl.rps / bl.rps
                errors = sum(r.errors for r in results["daemon"])
                ok = share >= 0.40 and errors == 0 and (connections != 16 or dl.p99_ms < 20.0)
                target = "≥ 40% of bare, no errors" + (", p99 < 20 ms" if connections == 16 else "")
                rows.append(
                    Row(
                        "http",
                        f"validate throughput, {connections} connections ({dl.tool})",
                        f"{dl.rps:,.0f} req/s, p50 {fmt_ms(dl.p50_ms)} / p99 {fmt_ms(dl.p99_ms)}, {errors} errors",
                        f"bare {bl.rps:,.0f} req/s, p99 {fmt_ms(bl.p99_ms)}",
                        f"{share:.0%}",
                        target,
                        verdict(ok),
                        f"median of {load_rounds} interleaved {load_seconds:.0f} s runs per side",
                        {
                            "daemon": [r.__dict__ for r in results["daemon"]],
                            "bare": [r.__dict__ for r in results["bare"]],
                        },
                    )
                )
        finally:
            for s in (daemon, fsync_daemon, bare):
                s.stop()
        rows.append(_memory_row(env, body, quick))
    return rows


def _memory_row(env: dict[str, str], body: bytes, quick: bool) -> Row:
    """RSS of a fresh daemon: idle (after 200 warm-up validates), after 50 000 and after 100 000."""
    daemon = start_server("daemon", env)
    try:
        client = KeepAliveClient(*daemon.host_port)
        timed_posts_ms(client, VALIDATE, body, 200)
        idle = daemon.rss_kib()
        done = 200
        marks: dict[int, int] = {}
        for goal in (50_000, 100_000):
            while done < goal:
                # wrk runs for a duration; aim short and top up so the mark is close to the goal.
                result = run_load(daemon.url + VALIDATE, body, 16, 2.0 if goal - done > 8000 else 1.0)
                done += result.requests
                if result.errors:
                    raise RuntimeError(f"{result.errors} errors while loading the daemon")
            marks[goal] = done
            marks[-goal] = daemon.rss_kib()
        client.close()
    finally:
        daemon.stop()
    at50, at100 = marks[-50_000], marks[-100_000]
    growth = at100 - at50
    return Row(
        "memory",
        "daemon RSS idle / after 50k / after 100k validates",
        f"{idle / 1024:.1f} / {at50 / 1024:.1f} / {at100 / 1024:.1f} MiB",
        "",
        f"+{growth / 1024:.2f} MiB 50k→100k",
        "no growth between 50k and 100k",
        verdict(growth <= 512),  # allow allocator noise of half a MiB
        f"measured after {marks[50_000]:,} and {marks[100_000]:,} validates",
        {"idle_kib": idle, "at_50k_kib": at50, "at_100k_kib": at100, "counts": [marks[50_000], marks[100_000]]},
    )


if __name__ == "__main__":
    for row in run(quick=True):
        print(row.what, "|", row.value, "|", row.baseline, "|", row.ratio, "|", row.verdict)
