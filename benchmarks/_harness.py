"""What every benchmark shares: statistics, interleaved A/B rounds, result rows, an isolated environment.

The machines are shared and noisy, so a comparison never uses a figure from another run: A and B are
measured in alternating rounds within one run, each round's samples are pooled, and medians and p99s are
taken over the pooled samples.
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any


def percentile(samples: list[float], fraction: float) -> float:
    """Nearest-rank percentile (``fraction`` in 0..1) of a non-empty list."""
    ordered = sorted(samples)
    index = min(len(ordered) - 1, max(0, round(fraction * len(ordered) + 0.5) - 1))
    return ordered[index]


@dataclass
class Stats:
    median: float
    p99: float
    count: int

    @classmethod
    def of(cls, samples: list[float]) -> Stats:
        return cls(statistics.median(samples), percentile(samples, 0.99), len(samples))


def interleave(cases: Mapping[str, Callable[[], list[float]]], rounds: int, *, warmup: bool = True) -> dict[str, Stats]:
    """Run each case once per round, alternating the order every round, and pool the samples per case."""
    names = list(cases)
    if warmup:
        for name in names:
            cases[name]()
    pooled: dict[str, list[float]] = {name: [] for name in names}
    for number in range(rounds):
        order = names if number % 2 == 0 else list(reversed(names))
        for name in order:
            pooled[name] += cases[name]()
    return {name: Stats.of(samples) for name, samples in pooled.items()}


def time_calls_us(fn: Callable[[], object], count: int) -> list[float]:
    """Per-call wall time in microseconds."""
    clock = time.perf_counter_ns
    samples = []
    for _ in range(count):
        start = clock()
        fn()
        samples.append((clock() - start) / 1000)
    return samples


@dataclass
class Row:
    """One line of the table."""

    section: str
    what: str
    value: str  # the figure as shown, e.g. "3.1 µs" or "p50 0.61 ms / p99 1.2 ms"
    baseline: str = ""
    ratio: str = ""
    target: str = ""
    verdict: str = ""  # "met", "MISSED", "reported", "not available"
    note: str = ""
    data: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def verdict(ok: bool) -> str:
    return "met" if ok else "MISSED"


def fmt_us(value: float) -> str:
    return f"{value:.1f} µs" if value < 1000 else f"{value / 1000:.2f} ms"


def fmt_ms(value: float) -> str:
    return f"{value:.2f} ms" if value < 100 else f"{value:.0f} ms"


@contextmanager
def isolated_env(prefix: str = "agent-auth-bench-") -> Iterator[dict[str, str]]:
    """Environment variables that put every agent-auth path under a fresh temporary directory.

    The path is kept short (the admin socket path must stay under ~100 bytes).
    """
    with tempfile.TemporaryDirectory(prefix=prefix, dir="/tmp") as tmp:
        root = Path(tmp)
        env = {
            "HOME": str(root),
            "XDG_CONFIG_HOME": str(root / "c"),
            "XDG_DATA_HOME": str(root / "d"),
            "XDG_STATE_HOME": str(root / "s"),
            "XDG_RUNTIME_DIR": str(root / "r"),
            "AGENT_AUTH_KEY_STORE": "file",
            "AGENT_AUTH_CREDENTIALS_STORE": "file",
            "AGENT_AUTH_PORT": "0",
            "AGENT_AUTH_HOST": "127.0.0.1",
            # The per-family rate limit (600/min by default) is policy, not cost: lift it so a single
            # benchmark token can send tens of thousands of requests.
            "AGENT_AUTH_RATE_LIMIT_PER_MINUTE": "1000000000",
            "PATH": os.environ.get("PATH", ""),
        }
        (root / "r").mkdir(mode=0o700)
        yield env
