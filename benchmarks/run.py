"""Run every benchmark, print one table and write ``benchmarks/results/latest.json``.

``python -m benchmarks.run [--quick] [--only gate,http,mcp,store,cli,external]`` (``scripts/bench.sh``).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from benchmarks import bench_cli, bench_gate, bench_http, bench_mcp, bench_store, external
from benchmarks._harness import Row
from benchmarks._http import ensure_wrk

RESULTS = Path(__file__).resolve().parent / "results"
SUITES: dict[str, Callable[[bool], list[Row]]] = {
    "gate": bench_gate.run,
    "http": bench_http.run,
    "mcp": bench_mcp.run,
    "store": bench_store.run,
    "cli": bench_cli.run,
    "external": external.run,
}


def machine() -> dict[str, str]:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    return {
        "cpu": cpu,
        "cores": str(os.cpu_count()),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "commit": commit,
    }


def print_table(rows: list[Row]) -> None:
    headers = ("what", "figure", "baseline (same run)", "ratio", "target", "verdict")
    cells = [(r.what, r.value, r.baseline, r.ratio, r.target, r.verdict) for r in rows]
    widths = [min(60, max(len(h), *(len(c[i]) for c in cells))) for i, h in enumerate(headers)]
    line = " | ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True))
    print(line)
    print("-" * len(line))
    for c in cells:
        print(" | ".join(v.ljust(w) for v, w in zip(c, widths, strict=True)))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer rounds, 10^5 instead of 10^6 families")
    parser.add_argument("--only", default=",".join(SUITES), help="comma-separated suites to run")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    started = time.monotonic()
    load_tool = ensure_wrk()
    print(f"load generator: {load_tool}", file=sys.stderr)
    rows: list[Row] = []
    for name in args.only.split(","):
        suite_started = time.monotonic()
        print(f"running {name} …", file=sys.stderr, flush=True)
        try:
            rows += SUITES[name](args.quick)
        except Exception as exc:  # one broken suite must not hide the others' figures
            rows.append(Row(name, f"{name} suite", "—", verdict="not available", note=f"failed: {exc!r}"[:300]))
        print(f"  {name} took {time.monotonic() - suite_started:.0f} s", file=sys.stderr, flush=True)
    print()
    print_table(rows)
    elapsed = time.monotonic() - started
    print(f"\n{'quick' if args.quick else 'full'} run in {elapsed:.0f} s")
    RESULTS.mkdir(exist_ok=True)
    report = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "mode": "quick" if args.quick else "full",
        "seconds": round(elapsed),
        "load_generator": load_tool,
        "machine": machine(),
        "rows": [r.to_json() for r in rows],
    }
    out = RESULTS / "latest.json"
    out.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
