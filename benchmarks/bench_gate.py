"""The gate's decision with its record, in process (valid token, allowed scope, warm cache), against HMAC
verify alone.

Also: the decision without its record; the record alone (one 15-field ``decision`` entry appended) against
the standard-library work it cannot avoid, done directly on a scratch file in the same run (its canonical
JSON, its HMAC, the ``stat`` of the path, the ``flock`` pair and the ``write``); and the decision with
``audit_fsync`` on.
"""

from __future__ import annotations

import fcntl
import hmac
import json
import os
from collections.abc import Callable
from hashlib import sha256
from pathlib import Path
from typing import Any

from auth import tokens
from auth.audit import AuditLog
from auth.decision_record import DECISION_EVENT
from auth.gate import Gate
from auth.tokens import TokenKind
from benchmarks._harness import Row, fmt_us, interleave, isolated_env, time_calls_us, verdict
from benchmarks._store import BENCH_SCOPE, create_store
from mcp_server.daemon.context import DaemonContext
from mcp_server.daemon.serve import open_context
from mcp_server.settings import load_settings

TARGET_US = 15.0


def _context(env: dict[str, str], fsync: bool) -> DaemonContext:
    return open_context(load_settings(env=env, overrides={"audit_fsync": fsync}))


def _last_record(audit: AuditLog) -> dict[str, Any]:
    """The fields of the newest ``decision`` entry (without the envelope the log adds)."""
    entry = json.loads(audit.path.read_bytes().splitlines()[-1])
    assert entry["event"] == DECISION_EVENT
    return {k: v for k, v in entry.items() if k not in ("seq", "ts", "event", "prev", "mac")}


def _record_floor(entry: dict[str, Any], key: bytes, scratch: Path) -> Callable[[], None]:
    """What appending ``entry`` cannot avoid, with the standard library directly (no chain logic)."""
    encoder = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    keyed = hmac.new(key, digestmod=sha256)
    fd = os.open(scratch, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    path = str(scratch)

    def floor() -> None:
        body = encoder.encode(entry).encode()
        mac = keyed.copy()
        mac.update(body)
        line = body[:-1] + b',"mac":"' + mac.hexdigest().encode() + b'"}\n'
        fcntl.flock(fd, fcntl.LOCK_EX)
        os.stat(path)
        os.write(fd, line)
        fcntl.flock(fd, fcntl.LOCK_UN)

    return floor


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
            audit = ctx.authority.audit
            record = _last_record(audit)
            floor = _record_floor(
                {
                    "seq": 1,
                    "ts": "2026-01-01T00:00:00.000000+00:00",
                    "event": DECISION_EVENT,
                    **record,
                    "prev": "0" * 64,
                },
                ctx.authority.keys.audit,
                Path(env["XDG_STATE_HOME"]) / "record-floor.log",
            )

            stats = interleave(
                {
                    "hmac": lambda: time_calls_us(lambda: tokens.verify(token, key, TokenKind.ACCESS), calls),
                    "gate": lambda: time_calls_us(lambda: gate.check(token, BENCH_SCOPE), calls),
                    "gate_no_audit": lambda: time_calls_us(lambda: gate.check(token, BENCH_SCOPE, audit=False), calls),
                    "record": lambda: time_calls_us(lambda: audit.append_fields(DECISION_EVENT, record), calls),
                    "floor": lambda: time_calls_us(floor, calls),
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
    record_s, floor_s = stats["record"], stats["floor"]
    off, on = fsync_stats["fsync_off"], fsync_stats["fsync_on"]
    return [
        Row(
            "gate",
            "gate decision with its record, in process (Gate.check)",
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
            "gate decision without its record (audit=False)",
            f"p50 {fmt_us(bare_s.median)} / p99 {fmt_us(bare_s.p99)}",
            f"HMAC verify p50 {fmt_us(hmac_s.median)}",
            f"{bare_s.median / hmac_s.median:.1f}x",
            "reported",
            "reported",
            "the record costs the difference to the row above",
            {"gate_no_audit": bare_s.__dict__},
        ),
        Row(
            "gate",
            "the decision record alone (AuditLog append, 15 fields)",
            f"p50 {fmt_us(record_s.median)} / p99 {fmt_us(record_s.p99)}",
            f"its JSON + HMAC + stat + flock + write, done directly: p50 {fmt_us(floor_s.median)}",
            f"{record_s.median / floor_s.median:.1f}x",
            "reported",
            "reported",
            "the baseline is the stdlib work no record can skip; the rest is the chain and neutralising",
            {"record": record_s.__dict__, "floor": floor_s.__dict__},
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
