"""Prometheus metrics of the daemon (a registry per daemon, never the global one)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST


class DaemonMetrics:
    content_type = CONTENT_TYPE_LATEST

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.request_duration = Histogram(
            "agent_auth_http_request_duration_seconds",
            "HTTP request duration by route and status",
            ["method", "route", "status"],
            registry=self.registry,
            buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 1, 5, 30, 120),
        )
        self.decisions = Counter(
            "agent_auth_decisions_total",
            "Gate decisions by outcome and reason",
            ["outcome", "reason"],
            registry=self.registry,
        )
        self.approvals = Counter("agent_auth_approvals_total", "Approval outcomes", ["outcome"], registry=self.registry)
        self.token_operations = Counter(
            "agent_auth_token_operations_total", "Token operations", ["operation", "result"], registry=self.registry
        )
        self.mcp_tool_calls = Counter(
            "agent_auth_mcp_tool_calls_total",
            "MCP tool calls by tool and outcome",
            ["tool", "outcome"],
            registry=self.registry,
        )

    def render(self) -> bytes:
        return generate_latest(self.registry)
