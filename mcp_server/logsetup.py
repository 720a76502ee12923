"""Logging for the CLI and the daemon: every line neutralised, identical lines rate-limited.

Log lines can quote agent text (a tool name, a header), so the formatter neutralises the whole line: no
byte in a log reaches the person's terminal as a control sequence. A flood of the same failure (a refused
connection, a full descriptor table) must not fill the disk, so after ``burst`` identical lines within
``window_seconds`` the rest are counted instead of written, and the count is reported with the next one let
through.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import TextIO

from auth.untrusted import neutralise

LOG_FORMAT = "agent-auth: %(levelname)s: %(message)s"
_MAX_TRACKED_LINES = 1024


class NeutralisingFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return neutralise(super().format(record), multiline=True)


class RepeatLimiter(logging.Filter):
    """Let through at most ``burst`` identical lines (same logger, level, text) per ``window_seconds``."""

    def __init__(
        self, *, burst: int = 5, window_seconds: float = 60.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        super().__init__()
        self.burst = burst
        self.window_seconds = window_seconds
        self.clock = clock
        self._lock = threading.Lock()
        self._seen: dict[tuple[str, int, str], list[float | int]] = {}  # key -> [window start, count]

    def filter(self, record: logging.LogRecord) -> bool:
        key = (record.name, record.levelno, record.getMessage()[:500])
        now = self.clock()
        with self._lock:
            state = self._seen.get(key)
            if state is None or now - state[0] >= self.window_seconds:
                suppressed = int(state[1]) - self.burst if state is not None and state[1] > self.burst else 0
                if len(self._seen) >= _MAX_TRACKED_LINES:
                    self._seen.clear()
                self._seen[key] = [now, 1]
                if suppressed:
                    record.msg = f"{record.getMessage()} (and {suppressed} identical lines not shown)"
                    record.args = None
                return True
            state[1] = int(state[1]) + 1
            return state[1] <= self.burst


def configure_logging(level: int, stream: TextIO) -> None:
    """Install one neutralising, rate-limited handler on the root logger (replacing any earlier one)."""
    handler = logging.StreamHandler(stream)
    handler.setFormatter(NeutralisingFormatter(LOG_FORMAT))
    handler.addFilter(RepeatLimiter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
