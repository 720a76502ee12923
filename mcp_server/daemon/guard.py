"""Connection-level flood limits for the daemon's HTTP listener (uvicorn's h11 protocol, guarded).

uvicorn has a keep-alive timeout but no deadline for a request to arrive: a client that opens a connection
and sends nothing, or trickles its headers or body, holds a descriptor forever, and ~1 000 of them exhaust
the process. Here every connection must deliver its request headers within ``header_timeout_seconds`` and
its body within ``body_timeout_seconds``; and at most ``max_connections`` are open at once. At the limit a
new connection evicts the longest-idle one (no request in progress) — a legitimate client sends its
request at once, so idle squatters cannot lock it out — and only if every connection is busy is the new one
refused.
"""

from __future__ import annotations

import asyncio
import logging
import resource
import time
from dataclasses import dataclass
from typing import Any

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

log = logging.getLogger(__name__)

FD_RESERVE_FRACTION = 8  # keep 1/8 of the descriptor limit (at least FD_RESERVE_MIN) for the store, gpg, admin
FD_RESERVE_MIN = 64


@dataclass(frozen=True)
class ConnectionLimits:
    max_connections: int = 1000
    header_timeout_seconds: float = 10.0
    body_timeout_seconds: float = 30.0


def raise_nofile_limit() -> int:
    """Raise the soft RLIMIT_NOFILE to the hard limit; return the limit now in force."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and soft < hard:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
            soft = hard
        except (ValueError, OSError) as exc:
            log.warning("cannot raise the open-file limit from %d to %d: %s", soft, hard, exc)
    return soft if soft != resource.RLIM_INFINITY else 1 << 20


def connection_budget(configured: int, nofile_limit: int) -> int:
    """How many HTTP connections fit in the descriptor limit, leaving room for everything else."""
    reserve = max(FD_RESERVE_MIN, nofile_limit // FD_RESERVE_FRACTION)
    return max(1, min(configured, nofile_limit - reserve))


def guarded_protocol(limits: ConnectionLimits) -> type[H11Protocol]:
    """An h11 protocol class enforcing ``limits`` (uvicorn builds one instance per connection)."""

    class GuardedH11Protocol(H11Protocol):
        _deadline: asyncio.TimerHandle | None = None
        _idle_since: float = 0.0

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            self._idle_since = time.monotonic()
            if len(self.connections) > limits.max_connections and not self._evict_one_idle():
                log.warning(
                    "connection limit (%d) reached with every connection busy; refusing one", limits.max_connections
                )
                self._close_now()
                return
            self._arm(limits.header_timeout_seconds)

        def connection_lost(self, exc: Exception | None) -> None:
            self._disarm()
            super().connection_lost(exc)

        def handle_events(self) -> None:
            before = self.conn.their_state
            super().handle_events()
            after = self.conn.their_state
            if after is not before:
                if after is h11.SEND_BODY:
                    self._arm(limits.body_timeout_seconds)
                elif after is not h11.IDLE:
                    self._disarm()  # the request is in; the app's own time limits apply from here

        def on_response_complete(self) -> None:
            super().on_response_complete()
            self._idle_since = time.monotonic()
            if not self.transport.is_closing() and self.conn.their_state is h11.IDLE:
                self._arm(limits.header_timeout_seconds)

        # --- helpers -----------------------------------------------------------------------

        def _idle(self) -> bool:
            return self.conn.their_state is h11.IDLE and (self.cycle is None or self.cycle.response_complete)

        def _evict_one_idle(self) -> bool:
            idle = [c for c in self.connections if c is not self and isinstance(c, GuardedH11Protocol) and c._idle()]
            if not idle:
                return False
            oldest = min(idle, key=lambda c: c._idle_since)
            oldest._close_now()
            return True

        def _arm(self, seconds: float) -> None:
            self._disarm()
            self._deadline = self.loop.call_later(seconds, self._expired)

        def _disarm(self) -> None:
            if self._deadline is not None:
                self._deadline.cancel()
                self._deadline = None

        def _expired(self) -> None:
            self._deadline = None
            if self.conn.their_state in (h11.IDLE, h11.SEND_BODY) and not self.transport.is_closing():
                self._close_now()

        def _close_now(self) -> None:
            self._disarm()
            if self.cycle is not None and not self.cycle.response_complete:
                self.cycle.disconnected = True
                self.cycle.message_event.set()
            self.transport.abort()

    return GuardedH11Protocol


def protocol_kwargs(limits: ConnectionLimits) -> dict[str, Any]:
    """uvicorn.Config arguments that install the guarded protocol."""
    return {"http": guarded_protocol(limits), "h11_max_incomplete_event_size": 64 * 1024}
