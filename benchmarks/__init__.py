"""Benchmarks of agent-auth against baselines measured in the same run (``scripts/bench.sh``)."""
