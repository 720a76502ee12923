"""Rows from the domain benchmarks other people own (Things, GPG), run as subprocesses.

Contract for those scripts: run as ``python benchmarks/<name>.py`` (plus ``--quick`` when their ``--help``
mentions it). A line ``BENCH_JSON {"rows": [{"what": …, "value": …, "baseline": …, "ratio": …, "target": …,
"verdict": …, "note": …}, …]}`` on stdout becomes table rows as given. Without it, lines of the form
``<name>  <median ms>  [<ratio>]`` are read as reported figures, and the raw output is kept in the JSON.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

from benchmarks._harness import Row

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
TIMEOUT_SECONDS = 240

# script, section, what its rows stand for in the table, target
EXTERNAL = [
    (
        "bench_things_mcp.py",
        "things",
        "Things list views and search (10 000 to-dos, MCP in memory)",
        "each ≤ 50 ms median",
    ),
    ("bench_things_reader.py", "things", "Things reader through ThingsService (10 000 to-dos)", "reported"),
    ("bench_gpg.py", "gpg", "git commit -S through agent-auth-gpg vs plain gpg", "≤ +50 ms per commit"),
    ("bench_things_text.py", "things", "Characters per item in Things list tools' text", "≤ 300 per to-do"),
    ("bench_things_vs_thingspy.py", "things", "Things reader vs things.py (10 000 to-dos)", "see rows"),
]
QUICK_FLAGS = {
    "bench_things_mcp.py": ("--repeat", "--cli-repeat"),
    "bench_things_reader.py": ("--repeat",),
    "bench_gpg.py": ("--rounds",),
    "bench_things_vs_thingspy.py": ("--repeat",),
}
QUICK_VALUE = "5"
_THINGS_MCP = re.compile(
    r"^(?P<label>\S.*?)\s+(?P<mcp>\d+\.\d+)\s+(?P<direct>\d+\.\d+)\s+(?P<x>[\d.]+x)?.*?\s(?P<v>ok|OVER)$"
)
_THINGS_CLI = re.compile(r"end to end\s+(?P<ms>[\d.]+) ms\s+python -c pass\s+(?P<py>[\d.]+) ms.*\s(?P<v>ok|OVER)$")
_GPG = re.compile(r"^(?P<name>shim/\w+) - gpg = (?P<extra>[+-][\d.]+) ms \((?P<x>[\d.]+x)\); (?P<v>within|OVER)")
_GPG_BASE = re.compile(r"^gpg\s+(?P<ms>[\d.]+)$")


def _with_values(argv: list[str], script: str) -> list[str]:
    out: list[str] = []
    for arg in argv:
        out.append(arg)
        if arg in QUICK_FLAGS.get(script, ()):
            out.append(QUICK_VALUE)
    return out


def _known_format(script: str, section: str, stdout: str) -> list[Row]:
    """Read the tables bench_things_mcp.py and bench_gpg.py print today."""
    rows: list[Row] = []
    lines = [line.strip() for line in stdout.splitlines()]
    if script == "bench_things_mcp.py":
        for line in lines:
            m = _THINGS_MCP.match(line)
            if m and not line.startswith("MCP in-memory"):
                rows.append(
                    Row(
                        section,
                        f"Things via MCP in memory: {m['label']}",
                        f"p50 {float(m['mcp']):.2f} ms",
                        f"direct service {float(m['direct']):.2f} ms",
                        m["x"] or "",
                        "≤ 50 ms median",
                        "met" if m["v"] == "ok" else "MISSED",
                        "from benchmarks/bench_things_mcp.py",
                    )
                )
            c = _THINGS_CLI.search(line)
            if c:
                rows.append(
                    Row(
                        section,
                        "things-cli todos list --json end to end",
                        f"p50 {float(c['ms']):.1f} ms",
                        f"python -c pass {float(c['py']):.1f} ms",
                        f"{float(c['ms']) / float(c['py']):.1f}x",
                        "≤ 150 ms median",
                        "met" if c["v"] == "ok" else "MISSED",
                        "from benchmarks/bench_things_mcp.py",
                    )
                )
    elif script == "bench_gpg.py":
        base = next((m["ms"] for m in map(_GPG_BASE.match, lines) if m), "?")
        for line in lines:
            m = _GPG.match(line)
            if m:
                rows.append(
                    Row(
                        section,
                        f"git commit -S through agent-auth-gpg ({m['name']})",
                        f"{m['extra']} ms per commit",
                        f"plain gpg {base} ms",
                        m["x"],
                        "≤ +50 ms per commit",
                        "met" if m["v"] == "within" else "MISSED",
                        "from benchmarks/bench_gpg.py",
                    )
                )
    return rows


_TABLE_LINE = re.compile(r"^(?P<name>\S.*?)\s{2,}(?P<ms>\d+\.\d+)(?:\s+(?P<ratio>\d+\.\d+))?\s*$")


def run_script(script: str, section: str, what: str, target: str, quick: bool) -> list[Row]:
    path = HERE / script
    if not path.exists():
        return [
            Row(
                section,
                what,
                "—",
                target=target,
                verdict="not available",
                note=f"benchmarks/{script} is not in this checkout yet",
            )
        ]
    argv = [sys.executable, str(path)]
    if quick:
        help_text = subprocess.run([*argv, "--help"], capture_output=True, text=True, cwd=REPO, timeout=60).stdout
        argv += [flag for flag in QUICK_FLAGS.get(script, ()) if flag.startswith("--") and flag in help_text]
        argv = [a for a in argv]  # values follow their flags below
        argv = _with_values(argv, script)
    try:
        result = subprocess.run(argv, capture_output=True, text=True, cwd=REPO, timeout=TIMEOUT_SECONDS)
    except subprocess.TimeoutExpired:
        return [
            Row(
                section,
                what,
                "—",
                target=target,
                verdict="not available",
                note=f"{script} ran over {TIMEOUT_SECONDS} s",
            )
        ]
    if result.returncode != 0:
        tail = (result.stderr.strip().splitlines() or ["no output"])[-1][:160]
        return [Row(section, what, "—", target=target, verdict="not available", note=f"{script} failed: {tail}")]
    rows: list[Row] = _known_format(script, section, result.stdout)
    for line in result.stdout.splitlines():
        if line.startswith("BENCH_JSON "):
            for item in json.loads(line[len("BENCH_JSON ") :]).get("rows", []):
                fields = {
                    k: str(item.get(k, "")) for k in ("what", "value", "baseline", "ratio", "target", "verdict", "note")
                }
                rows.append(Row(section, **fields))
    if rows:
        return rows
    for line in result.stdout.splitlines():
        match = _TABLE_LINE.match(line.strip())
        if match:
            ratio = f"{match.group('ratio')}x" if match.group("ratio") else ""
            rows.append(
                Row(
                    section,
                    f"{script}: {match.group('name').strip()}",
                    f"p50 {float(match.group('ms')):.2f} ms",
                    ratio=ratio,
                    target=target,
                    verdict="reported" if target == "reported" else "",
                    note="parsed from the script's table",
                )
            )
    if not rows:
        rows.append(
            Row(
                section,
                what,
                "ran; output not in a readable form",
                target=target,
                verdict="reported",
                data={"stdout": result.stdout[-4000:]},
            )
        )
    return rows


def run(quick: bool) -> list[Row]:
    rows: list[Row] = []
    for script, section, what, target in EXTERNAL:
        rows += run_script(script, section, what, target, quick)
    return rows
