"""Things' URL-scheme rate limit (250 items per 10 seconds) as a sliding window on an injected clock."""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable

from tools.things.errors import InvalidArgumentError, RateLimitedError

THINGS_MAX_ITEMS = 250
THINGS_WINDOW_SECONDS = 10.0


class ItemRateLimiter:
    """Admit at most ``max_items`` items per ``window_seconds``; refuse (never sleep) beyond that."""

    def __init__(
        self,
        monotonic: Callable[[], float],
        *,
        max_items: int = THINGS_MAX_ITEMS,
        window_seconds: float = THINGS_WINDOW_SECONDS,
    ) -> None:
        self._monotonic = monotonic
        self._max_items = max_items
        self._window_seconds = window_seconds
        self._events: deque[tuple[float, int]] = deque()
        self._lock = threading.Lock()

    def acquire(self, items: int) -> None:
        if items > self._max_items:
            raise InvalidArgumentError("items", f"at most {self._max_items} items can be written at once")
        with self._lock:
            now = self._monotonic()
            while self._events and self._events[0][0] <= now - self._window_seconds:
                self._events.popleft()
            used = sum(count for _, count in self._events)
            if used + items > self._max_items:
                # Wait until enough of the oldest events leave the window.
                freed, retry_at = 0, now
                for stamp, count in self._events:
                    freed += count
                    retry_at = stamp + self._window_seconds
                    if used - freed + items <= self._max_items:
                        break
                raise RateLimitedError(max(0.0, retry_at - now))
            self._events.append((now, items))
