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
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

log = logging.getLogger(__name__)

# Keep half of the descriptor limit (at least FD_RESERVE_MIN) for everything else: SQLite opens three
# descriptors per worker thread, gpg runs hold pipes, admin clients hold sockets, and asyncio accepts up to
# 100 connections per loop turn before any of them is counted (and closes evicted ones a turn later).
FD_RESERVE_FRACTION = 2
FD_RESERVE_MIN = 128


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
    """An h11 protocol class enforcing ``limits`` (uvicorn builds one instance per connection).

    Bookkeeping is O(1) per event: open connections are counted, idle ones kept oldest first.
    """
    idle: OrderedDict[GuardedH11Protocol, None] = OrderedDict()
    counted: set[GuardedH11Protocol] = set()

    class GuardedH11Protocol(H11Protocol):
        _deadline: asyncio.TimerHandle | None = None

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            counted.add(self)
            if len(counted) > limits.max_connections and not self._evict_one_idle():
                log.warning(
                    "connection limit (%d) reached with every connection busy; refusing one", limits.max_connections
                )
                self._close_now()
                return
            idle[self] = None
            self._arm(limits.header_timeout_seconds)

        def connection_lost(self, exc: Exception | None) -> None:
            self._forget()
            super().connection_lost(exc)

        def handle_events(self) -> None:
            before = self.conn.their_state
            super().handle_events()
            after = self.conn.their_state
            if after is not before and after is not h11.IDLE:
                idle.pop(self, None)
                if after is h11.SEND_BODY:
                    self._arm(limits.body_timeout_seconds)
                else:
                    self._disarm()  # the request is in; the app's own time limits apply from here

        def on_response_complete(self) -> None:
            super().on_response_complete()
            if not self.transport.is_closing() and self.conn.their_state is h11.IDLE and self in counted:
                idle[self] = None
                idle.move_to_end(self)
                self._arm(limits.header_timeout_seconds)

        # --- helpers -----------------------------------------------------------------------

        def _evict_one_idle(self) -> bool:
            for candidate in idle:
                if candidate is not self:
                    candidate._close_now()
                    return True
            return False

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

        def _forget(self) -> None:
            self._disarm()
            idle.pop(self, None)
            counted.discard(self)

        def _close_now(self) -> None:
            self._forget()  # now, not on the next loop turn, so a burst of accepts counts right
            if self.cycle is not None and not self.cycle.response_complete:
                self.cycle.disconnected = True
                self.cycle.message_event.set()
            self.transport.abort()

    return GuardedH11Protocol


def protocol_kwargs(limits: ConnectionLimits) -> dict[str, Any]:
    """uvicorn.Config arguments that install the guarded protocol."""
    return {"http": guarded_protocol(limits), "h11_max_incomplete_event_size": 64 * 1024}
