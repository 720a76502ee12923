"""Heavy flood runs against a real ``agent-auth serve`` process: descriptor exhaustion under a low
``ulimit -n`` and a second signal with many MCP sessions open. Figures: ``python -m benchmarks.floods``."""

from __future__ import annotations

import resource
import signal
import socket
import time

import httpx2
import pytest

from benchmarks.floods import Daemon, open_session

pytestmark = pytest.mark.heavy

NOFILE = 256
IDLE_CONNECTIONS = 600  # more than the daemon's descriptors


def test_idle_connections_past_the_descriptor_limit_leave_every_surface_serving() -> None:
    """The report: ~1 100 idle connections under ``ulimit -n 1024`` left /mcp answering 500 for good, the admin
    socket deleted and the process holding the port. Here, with ``ulimit -n 256`` and 600 idle connections."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, 4096), max(hard, 4096)))
    daemon = Daemon(nofile=NOFILE)
    idle: list[socket.socket] = []
    try:
        token = daemon.token()
        idle = [socket.create_connection(("127.0.0.1", daemon.port)) for _ in range(IDLE_CONNECTIONS)]
        with httpx2.Client(base_url=daemon.url, timeout=30) as http:
            for _ in range(3):
                assert http.get("/agent-auth/health").status_code in (200, 401)
                assert open_session(http, token) == 200
        assert daemon.admin.exists()
        assert daemon.admin_call("status")["url"] == daemon.url
        for sock in idle:
            sock.close()
        idle = []
        with httpx2.Client(base_url=daemon.url, timeout=30) as http:
            assert open_session(http, token) == 200
        assert daemon.process.poll() is None
    finally:
        for sock in idle:
            sock.close()
        daemon.stop()


def test_a_second_signal_exits_promptly_with_many_sessions_open() -> None:
    daemon = Daemon(mcp_sessions_per_family="100000")
    try:
        token = daemon.token()
        with httpx2.Client(base_url=daemon.url, timeout=30) as http:
            opened = sum(open_session(http, token) == 200 for _ in range(1000))
        assert opened == 1000
        daemon.process.send_signal(signal.SIGTERM)
        time.sleep(0.2)  # let the first signal start the drain (a real person presses twice, not at once)
        started = time.monotonic()
        daemon.process.send_signal(signal.SIGTERM)
        code = daemon.process.wait(30)
        elapsed = time.monotonic() - started
    finally:
        daemon.stop()
    assert code in (130, -signal.SIGTERM, 0)
    assert elapsed < 10, elapsed  # was 45-55 s with 10 000 sessions; the bound is the hard exit plus slack
