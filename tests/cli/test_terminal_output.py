"""Text meeting the terminal from the CLI: log lines neutralised and rate-limited, output and errors neutralised."""

from __future__ import annotations

import io
import logging

import pytest

from mcp_server.cli.app import Application, UserError
from mcp_server.logsetup import NeutralisingFormatter, RepeatLimiter, configure_logging
from tests.support.hostile_text import HOSTILE, HOSTILE_TEXT, raw_controls


def _record(message: str, *args: object) -> logging.LogRecord:
    return logging.LogRecord("agent_auth.test", logging.WARNING, __file__, 1, message, args, None)


def test_a_log_line_shows_escape_sequences_visibly() -> None:
    formatter = NeutralisingFormatter("%(message)s")
    line = formatter.format(_record("tool %s refused", "\x1b]0;pwned\x07\x9b2J\u202e"))
    assert line == "tool ␛]0;pwned␇\\x9b2J\\u202e refused"


def test_identical_lines_past_the_burst_are_counted_not_written_and_reported_later() -> None:
    now = [0.0]
    limiter = RepeatLimiter(burst=3, window_seconds=60, clock=lambda: now[0])
    passed = [limiter.filter(_record("accept failed: %s", "EMFILE")) for _ in range(1000)]
    assert sum(passed) == 3
    assert limiter.filter(_record("another line"))  # other lines are not held back
    now[0] = 61.0
    later = _record("accept failed: %s", "EMFILE")
    assert limiter.filter(later)
    assert "997 identical lines not shown" in later.getMessage()


def test_the_configured_handler_writes_neutralised_rate_limited_lines() -> None:
    stream = io.StringIO()
    root = logging.getLogger()
    saved = (list(root.handlers), root.level)
    try:
        configure_logging(logging.WARNING, stream)
        log = logging.getLogger("agent_auth.flood")
        for _ in range(500):
            log.warning("bad header from agent: %s", "\x1b[2J")
    finally:
        root.handlers[:] = saved[0]
        root.setLevel(saved[1])
    lines = stream.getvalue().splitlines()
    assert len(lines) == 5
    assert all("\x1b" not in line and "␛[2J" in line for line in lines)


def test_cli_output_and_errors_carry_no_raw_control_character(capsys: pytest.CaptureFixture[str]) -> None:
    """Every human-readable line of the CLI goes through Application.emit / fail."""
    app = Application()
    for text in HOSTILE_TEXT:
        app.emit({"x": text}, f"label {text}\nnext line")
    with pytest.raises(SystemExit):
        app.fail(UserError(f"refused {HOSTILE}", code="x", hint=HOSTILE))
    captured = capsys.readouterr()
    assert raw_controls(captured.out) == []
    assert raw_controls(captured.err) == []
    assert "␛[2J" in captured.out and "␛]0;pwned␇" in captured.err


def test_json_output_escapes_everything(capsys: pytest.CaptureFixture[str]) -> None:
    Application(json_output=True).emit({"summary": HOSTILE})
    assert raw_controls(capsys.readouterr().out) == []
