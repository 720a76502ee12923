#!/usr/bin/env bash
# Run every benchmark on 127.0.0.1, print one table, write benchmarks/results/latest.json (git-ignored).
# Usage: scripts/bench.sh [--quick] [--only gate,http,mcp,store,cli,external]
# wrk is installed with apt-get when missing and running as root; otherwise an asyncio load generator
# in a separate process stands in for it. A full run takes about 8 minutes on 2 cores; --quick about 2.
source "$(dirname "$0")/_env.sh"
exec python -m benchmarks.run "$@"
