"""The seam a host integration (Things, GPG, the next one) plugs into the daemon through.

An integration is one object with a ``name`` and an ``attach`` method. ``attach`` receives the daemon's shared
context (settings, gate, broker, audit) once at start and answers with a :class:`Contribution`: the MCP tools it
offers (each with its required scope, its prepared request and its approval summary), the REST routes it
serves (each deciding through the same gate), the scopes it introduces, and the lines ``serve`` prints. The
daemon composes contributions in :mod:`mcp_server.daemon.compose`; which integrations run is written once, in
:mod:`mcp_server.composition`.

Nothing else is shared: an integration never reaches into another one, and the MCP surface receives the tools
as an argument, so no surface depends on the order others were built in.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from starlette.routing import BaseRoute

from mcp_server.errors import AgentAuthError

if TYPE_CHECKING:
    from mcp_server.daemon.context import DaemonContext
    from mcp_server.mcp.registry import ToolSpec

LifespanHook = Callable[[Any], Any]  # given the app's task group; returns an async context manager or awaitable


@dataclass(frozen=True)
class Contribution:
    """What one integration adds to a running daemon."""

    tools: Sequence[ToolSpec] = ()
    routes: Sequence[BaseRoute] = ()
    scopes: Mapping[str, str] = field(default_factory=dict)  # scope → what it allows, for pickers and scopes.known
    announce: Sequence[str] = ()  # lines `agent-auth serve` prints when it is ready
    lifespan_hooks: Sequence[LifespanHook] = ()


class CompositionError(AgentAuthError, RuntimeError):
    """Two integrations (or an integration and the daemon) claim one name, tool or path: refuse to start."""

    code = "composition_conflict"


def refuse_duplicate_paths(routes: Sequence[BaseRoute]) -> None:
    """No route may shadow another (an integration's ``/mcp`` or ``/agent-auth/v1/validate`` would)."""
    seen: set[str] = set()
    for route in routes:
        path = getattr(route, "path", None)
        if not isinstance(path, str):
            continue
        if path in seen:
            raise CompositionError(f"two surfaces serve {path}")
        seen.add(path)


class Integration(Protocol):
    """A host application the daemon gates: attached once, at start, before anything serves."""

    @property
    def name(self) -> str: ...

    def attach(self, ctx: DaemonContext) -> Contribution: ...


@dataclass
class ToolsOnly:
    """An integration that only offers tools (tests, benchmarks, a quick experiment)."""

    name: str
    tools: Sequence[ToolSpec]

    def attach(self, ctx: DaemonContext) -> Contribution:
        return Contribution(tools=tuple(self.tools))
