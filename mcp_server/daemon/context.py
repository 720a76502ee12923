"""Everything the daemon's surfaces share, built once at start and passed in."""

from __future__ import annotations

import os
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

from auth.approvals import ApprovalBroker
from auth.authority import Authority
from auth.gate import Decision, Gate
from mcp_server.daemon.metrics import DaemonMetrics
from mcp_server.settings import Settings

if TYPE_CHECKING:
    from mcp_server.integration import Integration
    from mcp_server.mcp.registry import ToolRegistry
    from mcp_server.oauth.surface import OAuthServer

AdminMethod = Callable[[dict[str, Any]], Awaitable[Any]]
IntegrationT = TypeVar("IntegrationT")


@dataclass
class DaemonContext:
    settings: Settings
    authority: Authority
    gate: Gate
    broker: ApprovalBroker
    metrics: DaemonMetrics
    started_at: float = field(default_factory=time.time)
    url: str | None = None
    known_scopes: dict[str, dict[str, Any]] = field(default_factory=dict)
    # Filled once by the composition (mcp_server.daemon.compose), before anything serves:
    integrations: list[Integration] = field(default_factory=list)  # attached, in the composition root's order
    tool_registry: ToolRegistry | None = None  # the MCP tools, when the MCP surface is mounted
    oauth: OAuthServer | None = None  # the authorization server, when it is mounted
    announce_lines: list[str] = field(default_factory=list)  # what `agent-auth serve` prints when ready
    admin_methods: dict[str, AdminMethod] = field(default_factory=dict)  # admin-socket methods surfaces add
    shutdown_hooks: list[Callable[[], None]] = field(default_factory=list)  # e.g. wake long polls at shutdown

    @classmethod
    def build(cls, settings: Settings, authority: Authority) -> DaemonContext:
        broker = ApprovalBroker(
            authority.audit,
            timeout_seconds=settings.approval_timeout_seconds,
            max_pending_per_family=settings.max_pending_approvals_per_family,
        )
        gate = Gate(authority, broker, rate_limit_per_minute=settings.rate_limit_per_minute)
        metrics = DaemonMetrics()
        ctx = cls(settings, authority, gate, broker, metrics)

        counters: dict[tuple[str, str], Any] = {}

        def observe(decision: Decision, scope: str, operation: str) -> None:
            # labels() costs a few µs per call; the label combinations are few, so keep the children.
            key = ("allow" if decision.allowed else "deny", decision.code or decision.detail or "ok")
            counter = counters.get(key)
            if counter is None:
                counter = counters[key] = metrics.decisions.labels(*key)
            counter.inc()

        gate.observers.append(observe)
        broker.on_outcome = lambda d: metrics.approvals.labels(d.reason).inc()
        for name, info in {
            "agent-auth:health": "read the daemon's health endpoint",
            "agent-auth:metrics": "read the daemon's Prometheus metrics",
            "agent-auth:manage": "manage token families over HTTP (when enabled)",
        }.items():
            ctx.known_scopes[name] = {"scope": name, "description": info, "tools": [], "system": True}
        return ctx

    def integration(self, kind: type[IntegrationT]) -> IntegrationT:
        """The attached integration of this type (for example to reach its service in a test)."""
        for attached in self.integrations:
            if isinstance(attached, kind):
                return attached
        raise LookupError(f"no {kind.__name__} is attached to this daemon")

    def status(self) -> dict[str, Any]:
        return {
            "url": self.url,
            "version": _version(),
            "pid": os.getpid(),
            "uptime_seconds": round(time.time() - self.started_at, 1),
            "families": self.authority.family_count(),
            "pending_approvals": len(self.broker.pending()),
            "audit_log": str(self.authority.audit.path),
            "database": str(self.authority.db.path),
        }


def _version() -> str:
    import importlib.metadata

    try:
        return importlib.metadata.version("agent-auth")
    except importlib.metadata.PackageNotFoundError:
        return "unknown"
