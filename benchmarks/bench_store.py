"""Validate latency as the store grows: 10², 10⁴ and 10⁶ families, each against a 10² store in the same run.

Warm: the same token again and again (the gate's cache answers). Cold: a token never seen by this daemon
process (one primary-key lookup of the token and one of its family, plus a decryption of the scopes).
"""

from __future__ import annotations

from collections.abc import Callable

from benchmarks._harness import Row, Stats, fmt_ms, interleave, isolated_env, verdict
from benchmarks._http import KeepAliveClient, ServerProcess, start_server, timed_posts_ms
from benchmarks._store import populate
from benchmarks.bench_http import VALIDATE, latency_case, validate_body


def _cold_case(server: ServerProcess, tokens: list[str]) -> Callable[[], list[float]]:
    bodies = [validate_body(t) for t in tokens]

    def case() -> list[float]:
        client = KeepAliveClient(*server.host_port)
        try:
            return [timed_posts_ms(client, VALIDATE, body, 1)[0] for body in (bodies.pop() for _ in range(10))]
        finally:
            client.close()

    return case


def run(quick: bool) -> list[Row]:
    sizes = [100, 10_000, 100_000] if quick else [100, 10_000, 1_000_000]
    count, rounds = (200, 4) if quick else (500, 8)
    rows: list[Row] = []
    with isolated_env() as base_env:
        small_env = {**base_env, "XDG_DATA_HOME": base_env["XDG_DATA_HOME"] + "-small"}
        small, small_samples, _ = populate(small_env, 100, sample=99)
        for size in sizes[1:]:
            # A fresh 10^2 daemon per size, so its cache has never seen the cold-lookup tokens.
            small_daemon = start_server("daemon", small_env)
            try:
                with isolated_env() as env:
                    store, samples, build_seconds = populate(env, size, sample=(rounds + 1) * 10)
                    daemon = start_server("daemon", env)
                    try:
                        body, small_body = validate_body(store.access_token), validate_body(small.access_token)
                        warm = interleave(
                            {
                                "big": latency_case(daemon, body, count),
                                "small": latency_case(small_daemon, small_body, count),
                            },
                            rounds,
                        )
                        big_cold = list(samples)
                        small_cold = list(small_samples)
                        cold = interleave(
                            {"big": _cold_case(daemon, big_cold), "small": _cold_case(small_daemon, small_cold)},
                            min(rounds, len(small_cold) // 10 - 1),
                        )
                    finally:
                        daemon.stop()
                rows.append(_row(size, warm["big"], warm["small"], cold["big"], cold["small"], build_seconds))
            finally:
                small_daemon.stop()
    if quick:
        rows.append(
            Row(
                "store",
                "validate p50 with 10⁶ families",
                "skipped (--quick)",
                verdict="not available",
                note="--quick stops at 10⁵",
            )
        )
    return rows


def _row(size: int, warm: Stats, base: Stats, cold: Stats, cold_base: Stats, build_seconds: float) -> Row:
    exponent = len(str(size)) - 1
    target = size == 1_000_000
    return Row(
        "store",
        f"validate p50 with 10^{exponent} families (warm; cold first use)",
        f"p50 {fmt_ms(warm.median)}; cold p50 {fmt_ms(cold.median)}",
        f"10^2: p50 {fmt_ms(base.median)}; cold {fmt_ms(cold_base.median)}",
        f"{warm.median / base.median:.2f}x; cold {cold.median / cold_base.median:.2f}x",
        "≤ 1.5x at 10^6" if target else "reported",
        verdict(warm.median <= 1.5 * base.median) if target else "reported",
        f"store built in {build_seconds:.0f} s (bulk insert, one transaction)",
        {"warm": warm.__dict__, "base": base.__dict__, "cold": cold.__dict__, "cold_base": cold_base.__dict__},
    )


if __name__ == "__main__":
    for row in run(quick=True):
        print(row.what, "|", row.value, "|", row.baseline, "|", row.ratio, "|", row.verdict)
