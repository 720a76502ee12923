"""The ``agent-auth`` console script: ``token header`` takes a standard-library fast path, the rest argparse."""

from __future__ import annotations

import os
import sys


def main() -> int:
    if sys.argv[1:] == ["token", "header"] and not os.environ.get("AGENT_AUTH_TOKEN"):
        from mcp_server.client.fast_header import try_fast_header

        line = try_fast_header(os.environ)
        if line is not None:
            sys.stdout.write(line + "\n")
            return 0
    from mcp_server.cli.main import main as full_main

    return full_main()
