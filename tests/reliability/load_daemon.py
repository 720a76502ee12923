"""A daemon serving ``/mcp`` with the notes test tools in its own process, for load tests that sample its RSS.

Run as ``python -m tests.reliability.load_daemon FAMILIES`` with an isolated environment. It creates
``FAMILIES`` families holding the notes scopes at every tier, prints one JSON line (url, admin socket, pid,
access tokens), then serves until a line arrives on stdin; it answers with a JSON line giving the broker's
pending entries at that moment and stops.
"""

from __future__ import annotations

import json
import os
import sys
from collections import Counter

from tests.mcp.mcp_test_support import FAMILY_SCOPES, ToolRuns, start_mcp_daemon


class CountingRuns(ToolRuns):
    """Counts tool runs instead of listing them, so a long load does not grow the daemon's memory."""

    def __init__(self) -> None:
        super().__init__()
        self.counts: Counter[str] = Counter()

    def record(self, name: str) -> None:
        with self._lock:
            self.counts[name] += 1


def main() -> None:
    families = int(sys.argv[1])
    runs = CountingRuns()
    running = start_mcp_daemon(os.environ, runs)
    tokens = [running.create_family(FAMILY_SCOPES, label=f"load-{i}").access_token for i in range(families)]
    print(
        json.dumps(
            {"url": running.url, "admin_socket": str(running.admin_socket), "pid": os.getpid(), "tokens": tokens}
        ),
        flush=True,
    )
    sys.stdin.readline()
    pending = running.in_loop(lambda: [p.id for p in running.ctx.broker.pending()])
    running.stop()
    print(json.dumps({"pending": pending, "runs": dict(runs.counts)}), flush=True)


if __name__ == "__main__":
    main()
