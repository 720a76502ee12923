"""Resumable SSE streams for ``/mcp``: a bounded in-memory event store, scoped to the session that made it.

With an event store the SDK gives every SSE event an ``id`` (and sends ``retry`` on the priming event), so
a client whose stream drops during a long approval wait reconnects with ``GET /mcp`` and ``Last-Event-ID``
and receives what it missed — the call's result included.

The SDK shares one store among all sessions and names streams by JSON-RPC request id, which two sessions
use alike. So every event is tagged with its owner — the token family and the MCP session id — taken from
:data:`_owner`, a context variable :class:`EventOwnership` sets for each HTTP request (the SDK's per-session
task inherits the one of the request that opened the session). A replay only returns events of the same
owner, and event ids are random, so one session can never read another's events. Memory is bounded:
the oldest events are dropped past ``max_events``.
"""

from __future__ import annotations

import secrets
from collections import OrderedDict
from contextvars import ContextVar
from dataclasses import dataclass

from mcp.server.streamable_http import EventCallback, EventId, EventMessage, EventStore, StreamId
from mcp.shared.inbound import MCP_PROTOCOL_VERSION_HEADER
from mcp.types import JSONRPCMessage
from mcp_types.version import HANDSHAKE_PROTOCOL_VERSIONS
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from auth.gate import Gate
from auth.principal import Principal
from mcp_server.daemon.edge import identity_of

DEFAULT_MAX_EVENTS = 2048
# Suggested reconnect delay (SSE ``retry``, milliseconds) sent on each stream's priming event.
RETRY_INTERVAL_MS = 1000
SESSION_HEADER = b"mcp-session-id"
_VERSION_HEADER = MCP_PROTOCOL_VERSION_HEADER.encode("ascii")


@dataclass
class Owner:
    family_id: str
    session_id: str | None = None


_owner: ContextVar[Owner | None] = ContextVar("mcp_event_owner", default=None)


@dataclass(frozen=True)
class _Event:
    stream_id: StreamId
    message: JSONRPCMessage | None
    owner: Owner | None


class BoundedEventStore(EventStore):
    def __init__(self, max_events: int = DEFAULT_MAX_EVENTS) -> None:
        self.max_events = max_events
        self._events: OrderedDict[EventId, _Event] = OrderedDict()

    # No __len__: the SDK tests the store for truth, and an empty store must still count as configured.
    @property
    def size(self) -> int:
        return len(self._events)

    async def store_event(self, stream_id: StreamId, message: JSONRPCMessage | None) -> EventId:
        owner = _owner.get()
        event_id = secrets.token_urlsafe(16)
        # The owner object is kept: the session id is filled in once the SDK has named the session.
        self._events[event_id] = _Event(stream_id, message, owner)
        while len(self._events) > self.max_events:
            self._events.popitem(last=False)
        return event_id

    async def replay_events_after(self, last_event_id: EventId, send_callback: EventCallback) -> StreamId | None:
        caller = _owner.get()
        last = self._events.get(last_event_id)
        if caller is None or last is None or not _same(last.owner, caller):
            return None
        after = False
        for event_id, event in list(self._events.items()):
            if after and event.stream_id == last.stream_id and event.message is not None and _same(event.owner, caller):
                await send_callback(EventMessage(event.message, event_id))
            after = after or event_id == last_event_id
        return last.stream_id


def _same(owner: Owner | None, caller: Owner) -> bool:
    return (
        owner is not None
        and owner.family_id == caller.family_id
        and owner.session_id is not None
        and owner.session_id == caller.session_id
    )


class EventOwnership:
    """ASGI wrapper around the SDK's ``/mcp`` app: sets the event owner for the request (see module doc)."""

    def __init__(self, app: ASGIApp, gate: Gate) -> None:
        self.app = app
        self.gate = gate

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        session_id = None
        version: bytes | None = None
        for name, value in scope.get("headers", []):
            if name == SESSION_HEADER:
                session_id = value.decode("latin-1")
            elif name == _VERSION_HEADER and version is None:
                version = value
        if version is not None and version.decode("latin-1") not in HANDSHAKE_PROTOCOL_VERSIONS:
            # The SDK serves the 2026-07-28 protocol without sessions or this store: nothing to own.
            await self.app(scope, receive, send)
            return
        # The principal the edge established for this request (no second authentication).
        identity = identity_of(scope, self.gate)
        owner = Owner(identity.family_id, session_id) if isinstance(identity, Principal) else None

        async def named(message: Message) -> None:
            if owner is not None and owner.session_id is None and message["type"] == "http.response.start":
                for name, value in message.get("headers", []):
                    if name.lower() == SESSION_HEADER:
                        owner.session_id = value.decode("latin-1")  # the session the SDK just created
            await send(message)

        reset = _owner.set(owner)
        try:
            await self.app(scope, receive, named)
        finally:
            _owner.reset(reset)
