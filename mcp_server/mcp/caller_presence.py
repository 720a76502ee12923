"""Is the caller of a ``tools/call`` still there? A request whose caller has gone is withdrawn.

Over streamable HTTP a ``tools/call`` is one POST whose response is an SSE stream. The caller is gone when:

- it cancels the request (``notifications/cancelled``) or closes its session (``DELETE /mcp``): the SDK
  cancels the handler, so the wait for a person ends and the approval is withdrawn (``auth.approvals``);
- its stream drops (a killed client, a closed proxy, Ctrl-C) and it does not resume it: this module.

:class:`CallerPresence` wraps ``/mcp``. For every POST it puts a :class:`Presence` in the ASGI scope (the SDK
hands the same scope to the tool handler as ``ctx.request``) and marks it dropped when the server reads
``http.disconnect`` before the response finished. A GET carrying ``Last-Event-ID`` for a session is a
resumption (the daemon's event store replays what was missed, the result included): a drop followed by a
resumption of the same session within :data:`RESUME_GRACE_SECONDS` is not a departure. After the grace
without one, :meth:`CallerPresence.wait_until_gone` returns; the tool call sets its ``caller_gone`` event and
the approval is withdrawn (``auth.approvals``): nothing runs.

The grace is 5 s: five times the SSE ``retry`` interval the daemon announces (1 s), long enough for a client
that resumes to do so, short enough that a person does not approve a request nobody is waiting for.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import anyio
from starlette.types import ASGIApp, Message, Receive, Scope, Send

RESUME_GRACE_SECONDS = 5.0
SCOPE_KEY = "agent_auth.presence"
_SESSION_HEADER = b"mcp-session-id"
_LAST_EVENT_HEADER = b"last-event-id"
MAX_TRACKED_SESSIONS = 4096


@dataclass(slots=True)
class Presence:
    """One POST's caller: ``dropped_at`` is set when its stream went away before the response finished.

    The event a waiter sleeps on is made only when someone waits (a prompt-tier call): most calls never do.
    """

    session_id: str | None
    dropped_at: float | None = None
    finished: bool = False
    _dropped: anyio.Event | None = None

    def mark_dropped(self, at: float) -> None:
        self.dropped_at = at
        if self._dropped is not None:
            self._dropped.set()

    async def wait_dropped(self) -> None:
        if self.dropped_at is None:
            if self._dropped is None:
                self._dropped = anyio.Event()
            await self._dropped.wait()


class CallerPresence:
    """ASGI wrapper for ``/mcp`` that notices callers whose stream dropped, and streams that resumed."""

    def __init__(self, app: ASGIApp, *, monotonic: Callable[[], float] = time.monotonic) -> None:
        self.app = app
        self.monotonic = monotonic
        self._resumed: dict[str, float] = {}  # session id -> when a GET with Last-Event-ID last came

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope.get("type") != "http":
            await self.app(scope, receive, send)
            return
        session_id: str | None = None
        resuming = False
        for name, value in scope.get("headers") or ():
            if name == _SESSION_HEADER:
                session_id = value.decode("latin-1") or None
            elif name == _LAST_EVENT_HEADER:
                resuming = True
        method = scope.get("method")
        if method == "GET" and session_id is not None and resuming:
            self._note_resumed(session_id)
        if method != "POST":
            await self.app(scope, receive, send)
            return
        presence = Presence(session_id)
        scope[SCOPE_KEY] = presence

        async def watched_receive() -> Message:
            message = await receive()
            if message.get("type") == "http.disconnect" and not presence.finished and presence.dropped_at is None:
                presence.mark_dropped(self.monotonic())
            return message

        async def watched_send(message: Message) -> None:
            if message.get("type") == "http.response.body" and not message.get("more_body", False):
                presence.finished = True
            await send(message)

        await self.app(scope, watched_receive, watched_send)

    def _note_resumed(self, session_id: str) -> None:
        self._resumed.pop(session_id, None)
        self._resumed[session_id] = self.monotonic()
        while len(self._resumed) > MAX_TRACKED_SESSIONS:
            del self._resumed[next(iter(self._resumed))]

    def resumed_since(self, session_id: str | None, since: float) -> bool:
        if session_id is None:
            return False
        at = self._resumed.get(session_id)
        return at is not None and at >= since

    async def wait_until_gone(self, presence: Presence) -> None:
        """Return once the caller has gone: its stream dropped and was not resumed within the grace."""
        await presence.wait_dropped()
        assert presence.dropped_at is not None
        await anyio.sleep(RESUME_GRACE_SECONDS)
        if not self.resumed_since(presence.session_id, presence.dropped_at):
            return
        # Resumed: the caller is there. It still ends the wait by cancelling or closing its session;
        # a resumed stream that drops again is not watched (the approval then times out as before).
        await anyio.sleep_forever()


def presence_of(request: Any) -> Presence | None:
    """The :class:`Presence` the wrapper put in a request's ASGI scope (None outside HTTP)."""
    scope = getattr(request, "scope", None)
    if not isinstance(scope, dict):
        return None
    value = scope.get(SCOPE_KEY)
    return value if isinstance(value, Presence) else None
