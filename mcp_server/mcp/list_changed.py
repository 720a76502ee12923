"""``notifications/tools/list_changed`` to a family's live sessions when its scopes or tiers change.

What ``tools/list`` shows depends on the token's family (allow and prompt tools are listed, deny is hidden),
and ``agent-auth token modify`` changes that without a new token. :class:`FamilyToolLists` remembers which
live sessions belong to which family and, when the audit log records ``token.modify`` for a family, tells
exactly those sessions to list their tools again:

- handshake-era sessions (stdio-era and streamable HTTP with ``initialize``) get the notification on their
  session (over HTTP, the standalone ``GET /mcp`` stream);
- 2026-07-28 clients get it on their ``subscriptions/listen`` streams: this class is also the server's
  ``SubscriptionBus``, registering each listen stream under the family of the request that opened it.

Other families hear nothing, so one agent cannot watch another's permissions change.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import weakref
from collections.abc import AsyncIterator, Callable
from contextvars import ContextVar
from typing import Any

import anyio
import anyio.abc
import anyio.from_thread
import anyio.lowlevel
from mcp.server.context import CallNext, HandlerResult, ServerRequestContext
from mcp.server.subscriptions import ServerEvent, ToolsListChanged
from mcp_types.version import MODERN_PROTOCOL_VERSIONS

from auth.audit import AuditLog
from auth.gate import Gate
from auth.principal import EdgeIdentity, Principal

log = logging.getLogger(__name__)

IdentitySource = Callable[[ServerRequestContext[Any, Any]], EdgeIdentity]
CHANGE_EVENTS = frozenset({"token.modify"})

_family: ContextVar[str | None] = ContextVar("mcp_request_family", default=None)


class FamilyToolLists:
    def __init__(self, gate: Gate, identity_source: IdentitySource) -> None:
        self.gate = gate
        self.identity_source = identity_source
        self._sessions: dict[str, weakref.WeakSet[Any]] = {}
        self._listeners: dict[str, dict[object, Callable[[ServerEvent], None]]] = {}
        self._task_group: anyio.abc.TaskGroup | None = None
        self._loop_token: anyio.lowlevel.EventLoopToken | None = None
        self._loop_thread: int | None = None

    # --- middleware: who is asking ----------------------------------------------------------------

    async def __call__(self, ctx: ServerRequestContext[Any, Any], call_next: CallNext) -> HandlerResult:
        family = self._family_of(ctx)
        if family is not None and ctx.protocol_version not in MODERN_PROTOCOL_VERSIONS:
            # ctx.session lives for one request; its connection lives as long as the MCP session. The SDK
            # offers no public handle on it, hence the private attribute (absent: no notifications, no harm).
            connection = getattr(ctx.session, "_connection", None)
            if connection is not None and hasattr(connection, "send_tool_list_changed"):
                with contextlib.suppress(TypeError):  # an object that cannot be weakly referenced
                    self._sessions.setdefault(family, weakref.WeakSet()).add(connection)
        reset = _family.set(family)
        try:
            result = await call_next(ctx)
        finally:
            _family.reset(reset)
        if ctx.method == "initialize":
            return _advertise_list_changed(result)
        return result

    def _family_of(self, ctx: ServerRequestContext[Any, Any]) -> str | None:
        identity = self.identity_source(ctx)  # the edge's principal: no second authentication
        return identity.family_id if isinstance(identity, Principal) else None

    # --- SubscriptionBus: 2026 listen streams ----------------------------------------------------

    async def publish(self, event: ServerEvent) -> None:
        """An event for every listener (what the SDK's own ``notify_*_changed`` means)."""
        for listeners in list(self._listeners.values()):
            for listener in list(listeners.values()):
                _deliver(listener, event)
        await anyio.lowlevel.checkpoint()

    def subscribe(self, listener: Callable[[ServerEvent], None]) -> Callable[[], None]:
        family = _family.get()
        if family is None:
            return lambda: None  # no principal, no events
        key = object()
        self._listeners.setdefault(family, {})[key] = listener

        def unsubscribe() -> None:
            self._listeners.get(family, {}).pop(key, None)

        return unsubscribe

    # --- the trigger -------------------------------------------------------------------------------

    async def family_changed(self, family_id: str) -> None:
        for session in list(self._sessions.get(family_id, ())):
            try:
                await session.send_tool_list_changed()
            except Exception:  # a closed session: it re-lists when it reconnects anyway
                log.debug("tools/list_changed not delivered to a closed session of %s", family_id)
        for listener in list(self._listeners.get(family_id, {}).values()):
            _deliver(listener, ToolsListChanged())

    def on_audit(self, entry: dict[str, Any]) -> None:
        family_id = entry.get("family_id")
        if entry.get("event") not in CHANGE_EVENTS or not isinstance(family_id, str):
            return
        task_group, token = self._task_group, self._loop_token
        if task_group is None or token is None:
            return
        if threading.get_ident() == self._loop_thread:
            task_group.start_soon(self.family_changed, family_id)
        else:
            with contextlib.suppress(RuntimeError):  # the loop has stopped
                anyio.from_thread.run_sync(task_group.start_soon, self.family_changed, family_id, token=token)

    @contextlib.asynccontextmanager
    async def running(self, task_group: anyio.abc.TaskGroup, audit: AuditLog) -> AsyncIterator[None]:
        """While the daemon serves: listen to the audit log and notify from ``task_group``."""
        self._task_group = task_group
        self._loop_token = anyio.lowlevel.current_token()
        self._loop_thread = threading.get_ident()
        unsubscribe = audit.subscribe(self.on_audit)
        try:
            yield
        finally:
            unsubscribe()
            self._task_group = None


def _deliver(listener: Callable[[ServerEvent], None], event: ServerEvent) -> None:
    try:
        listener(event)
    except Exception:  # fan-out boundary: one listen stream must not starve the others
        log.exception("a subscriptions/listen stream refused an event")


def _advertise_list_changed(result: HandlerResult) -> HandlerResult:
    """Say ``tools.listChanged: true`` in a handshake: this server does send it (the SDK's default says no)."""
    if isinstance(result, dict):
        tools = (result.get("capabilities") or {}).get("tools")
        if isinstance(tools, dict):
            result = {**result, "capabilities": {**result["capabilities"], "tools": {**tools, "listChanged": True}}}
    return result
