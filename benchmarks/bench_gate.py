"""The gate's decision in process (valid token, allowed scope, warm cache) against HMAC verify alone.

Also: the same decision with ``audit_fsync`` on, and the decision without its audit append (what the MCP
layer uses, since it writes one entry per call itself).
"""

from __future__ import annotations

from auth import tokens
from auth.gate import Gate
from auth.tokens import TokenKind
from benchmarks._harness import Row, fmt_us, interleave, isolated_env, time_calls_us, verdict
from benchmarks._store import BENCH_SCOPE, create_store
from mcp_server.daemon.context import DaemonContext
from mcp_server.daemon.serve import open_context
from mcp_server.settings import load_settings

TARGET_US = 10.0


def _context(env: dict[str, str], fsync: bool) -> DaemonContext:
    return open_context(load_settings(env=env, overrides={"audit_fsync": fsync}))


def run(quick: bool) -> list[Row]:
    calls, rounds = (2_000, 5) if quick else (5_000, 15)
    with isolated_env() as env:
        store = create_store(env)
        ctx = _context(env, fsync=False)
        fsync_ctx = _context(env, fsync=True)
        try:
            gate: Gate = ctx.gate
            fsync_gate: Gate = fsync_ctx.gate
            token = store.access_token
            key = ctx.authority.keys.signing
            for g in (gate, fsync_gate):
                assert g.check(token, BENCH_SCOPE).allowed, "the benchmark token must be allowed"

            stats = interleave(
                {
                    "hmac": lambda: time_calls_us(lambda: tokens.verify(token, key, TokenKind.ACCESS), calls),
                    "gate": lambda: time_calls_us(lambda: gate.check(token, BENCH_SCOPE), calls),
                    "gate_no_audit": lambda: time_calls_us(lambda: gate.check(token, BENCH_SCOPE, audit=False), calls),
                },
                rounds,
            )
            fsync_calls = 200 if quick else 500
            fsync_stats = interleave(
                {
                    "fsync_off": lambda: time_calls_us(lambda: gate.check(token, BENCH_SCOPE), fsync_calls),
                    "fsync_on": lambda: time_calls_us(lambda: fsync_gate.check(token, BENCH_SCOPE), fsync_calls),
                },
                3 if quick else 5,
            )
        finally:
            for c in (ctx, fsync_ctx):
                c.gate.close()
                c.authority.audit.close()
                c.authority.db.dispose()
    hmac_s, gate_s, bare_s = stats["hmac"], stats["gate"], stats["gate_no_audit"]
    off, on = fsync_stats["fsync_off"], fsync_stats["fsync_on"]
    return [
        Row(
            "gate",
            "gate decision in process (Gate.check, audit on)",
            f"p50 {fmt_us(gate_s.median)} / p99 {fmt_us(gate_s.p99)}",
            f"HMAC verify p50 {fmt_us(hmac_s.median)}",
            f"{gate_s.median / hmac_s.median:.1f}x",
            f"≤ {TARGET_US:.0f} µs median",
            verdict(gate_s.median <= TARGET_US),
            f"{gate_s.count} calls in {rounds} interleaved rounds",
            {"gate": gate_s.__dict__, "hmac": hmac_s.__dict__},
        ),
        Row(
            "gate",
            "gate decision without its audit append (audit=False)",
            f"p50 {fmt_us(bare_s.median)} / p99 {fmt_us(bare_s.p99)}",
            f"HMAC verify p50 {fmt_us(hmac_s.median)}",
            f"{bare_s.median / hmac_s.median:.1f}x",
            "reported",
            "reported",
            "the audit append costs the difference to the row above",
            {"gate_no_audit": bare_s.__dict__},
        ),
        Row(
            "gate",
            "gate decision with audit_fsync=true",
            f"p50 {fmt_us(on.median)} / p99 {fmt_us(on.p99)}",
            f"audit_fsync=false p50 {fmt_us(off.median)}",
            f"{on.median / off.median:.0f}x",
            "no fsync on the hot path unless asked",
            "reported",
            "default is audit_fsync=false: the chain + checkpoint detect loss; fsync is opt-in durability",
            {"fsync_on": on.__dict__, "fsync_off": off.__dict__},
        ),
    ]


if __name__ == "__main__":
    for row in run(quick=True):
        print(row.what, "|", row.value, "|", row.baseline, "|", row.ratio, "|", row.verdict)
