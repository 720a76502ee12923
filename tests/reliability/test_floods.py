"""Floods without a token (or with one) leave the daemon serving: each reproduction from the report, quick.

Junk methods minting metrics labels, megabyte bodies read before the token is checked, one family filling
the session table, 2 KB of brackets giving a 500, silent or trickling connections holding descriptors, an
essential task dying while uvicorn serves on. The descriptor-exhaustion run under a low ``ulimit -n`` and
the second-signal timing with many sessions are in ``test_floods_heavy.py``.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from contextlib import closing, contextmanager
from typing import Any

import anyio
import httpx2
import pytest

from mcp_server.daemon import serve
from mcp_server.daemon.context import DaemonContext
from mcp_server.settings import load_settings
from tests.reliability.conftest import StartFull
from tests.reliability.mcp_wire import McpWire
from tests.support.daemon import RunningDaemon

ALLOW = {"things:read": "allow"}
DEEP = b"[" * 2048 + b"]" * 2048
WAIT_SECONDS = 10.0


def _connect(daemon: RunningDaemon) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", daemon.port), timeout=WAIT_SECONDS)
    return sock


def _answer(sock: socket.socket) -> bytes:
    """What the daemon sends before it closes (or until WAIT_SECONDS pass)."""
    sock.settimeout(WAIT_SECONDS)
    data = b""
    try:
        while chunk := sock.recv(65536):
            data += chunk
            if b"\r\n\r\n" in data and b"content-length" in data.lower():
                head, _, body = data.partition(b"\r\n\r\n")
                length = int(head.lower().split(b"content-length:")[1].split(b"\r\n")[0])
                if len(body) >= length:
                    break
    except (ConnectionResetError, TimeoutError):
        pass
    return data


def _closed_by_peer(sock: socket.socket) -> bool:
    sock.settimeout(WAIT_SECONDS)
    try:
        return sock.recv(1) == b""
    except ConnectionResetError:
        return True
    except TimeoutError:
        return False


# --- metrics labels ---------------------------------------------------------------------------------


def test_junk_http_methods_do_not_mint_metrics_labels(full_daemon: RunningDaemon) -> None:
    holder = full_daemon.create_family({"agent-auth:metrics": "allow"}, allow_reserved=True)
    auth = {"Authorization": f"Bearer {holder.access_token}"}
    with httpx2.Client(base_url=full_daemon.url, timeout=20) as http:
        for n in range(300):
            http.request(f"JUNK{n}", "/agent-auth/health")
        metrics = http.get("/agent-auth/metrics", headers=auth).text
    assert "JUNK" not in metrics
    assert 'method="other"' in metrics


# --- /mcp reads no body before the token is checked ----------------------------------------------------


def test_an_oversized_content_length_on_mcp_is_refused_before_any_body_is_sent(full_daemon: RunningDaemon) -> None:
    with closing(_connect(full_daemon)) as sock:
        sock.sendall(
            b"POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            b"Content-Length: 4194305\r\n\r\n"
        )
        answer = _answer(sock)
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]


@pytest.mark.parametrize("bearer", ["not-a-token", "aa_0123456789abcdef0123456789abcdef_forged"])
def test_mcp_answers_a_bad_token_from_the_headers_without_waiting_for_a_large_body(
    full_daemon: RunningDaemon, bearer: str
) -> None:
    """4 MiB announced, none sent: the 401 comes at once (before, the daemon waited to buffer it all)."""
    with closing(_connect(full_daemon)) as sock:
        sock.sendall(
            b"POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            b"Accept: application/json, text/event-stream\r\n"
            + f"Authorization: Bearer {bearer}\r\nContent-Length: {4 * 1024 * 1024}\r\n\r\n".encode()
        )
        answer = _answer(sock)
    assert answer.startswith(b"HTTP/1.1 401"), answer[:200]


# --- JSON nesting ------------------------------------------------------------------------------------


def test_deeply_nested_json_is_a_400_on_every_json_route_before_and_after_authentication(
    full_daemon: RunningDaemon,
) -> None:
    family = full_daemon.create_family(ALLOW)
    routes = [
        "/agent-auth/v1/validate",
        "/agent-auth/v1/token/refresh",
        "/agent-auth/v1/token/reissue",
        "/agent-auth/v1/token/status",
        "/things-bridge/v1/todos",
        "/gpg-bridge/v1/sign",
        "/register",
    ]
    json_headers = {"Content-Type": "application/json", "Accept": "application/json, text/event-stream"}
    statuses: dict[tuple[str, str], int] = {}
    with httpx2.Client(base_url=full_daemon.url, timeout=20) as http:
        for route in [*routes, "/mcp"]:
            for who, auth in (("nobody", ""), ("junk", "Bearer junk"), ("holder", f"Bearer {family.access_token}")):
                headers = {**json_headers, **({"Authorization": auth} if auth else {})}
                statuses[(route, who)] = http.post(route, content=DEEP, headers=headers).status_code
    assert all(status < 500 for status in statuses.values()), statuses
    assert statuses[("/agent-auth/v1/validate", "nobody")] == 400
    assert statuses[("/agent-auth/v1/validate", "holder")] == 400
    assert statuses[("/mcp", "holder")] == 400


# --- sessions per family -----------------------------------------------------------------------------


def test_one_family_cannot_hold_more_than_its_sessions_and_others_still_open_theirs(start_full: StartFull) -> None:
    daemon = start_full(mcp_sessions_per_family=3)
    greedy = daemon.create_family(ALLOW)
    other = daemon.create_family(ALLOW)
    with httpx2.Client(base_url=daemon.url, timeout=20) as http:
        wires = [McpWire(http, greedy.access_token) for _ in range(4)]
        for wire in wires[:3]:
            wire.open()
        refused = wires[3].call(
            "initialize",
            {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "x", "version": "0"}},
            session=False,
        )
        McpWire(http, other.access_token).open()
        ended = http.delete("/mcp", headers=wires[0].headers)
        wires[3].open()  # room again once a session ended
    assert refused.status == 429
    assert refused.body["error"]["data"]["error"] == "too_many_sessions"
    assert ended.status_code < 300


# --- silent and trickling connections ---------------------------------------------------------------


def test_a_silent_or_trickling_connection_is_closed_at_its_deadline(start_full: StartFull) -> None:
    daemon = start_full(request_header_timeout_seconds=0.5, request_body_timeout_seconds=0.5)
    with closing(_connect(daemon)) as silent, closing(_connect(daemon)) as trickle, closing(_connect(daemon)) as body:
        trickle.sendall(b"GET /agent-auth/health HTTP/1.1\r\nHost: x\r\n")  # headers never finish
        body.sendall(b"POST /agent-auth/v1/validate HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{")
        started = time.monotonic()
        assert _closed_by_peer(silent)
        assert _closed_by_peer(trickle)
        assert _closed_by_peer(body) or b"HTTP/1.1" in body.recv(65536)
        assert time.monotonic() - started < WAIT_SECONDS
    with httpx2.Client(base_url=daemon.url, timeout=20) as http:
        assert http.get("/agent-auth/health").status_code in (200, 401)


def test_at_the_connection_limit_idle_connections_make_room_for_a_request(start_full: StartFull) -> None:
    daemon = start_full(max_connections=20)
    idle = [_connect(daemon) for _ in range(60)]
    try:
        with httpx2.Client(base_url=daemon.url, timeout=20) as http:
            family = daemon.create_family(ALLOW)
            reply = http.post(
                "/agent-auth/v1/validate", json={"token": family.access_token, "required_scope": "things:read"}
            )
        assert reply.status_code == 200
        closed = sum(1 for sock in idle[:40] if _closed_by_peer(sock))
        assert closed >= 40 - 20
    finally:
        for sock in idle:
            sock.close()


# --- never half-alive --------------------------------------------------------------------------------


@contextmanager
def _home_env(tmp_path: Any) -> Iterator[dict[str, str]]:
    from tests.support.daemon import isolated_env

    with isolated_env(tmp_path / "home") as env:
        yield env


@pytest.mark.anyio
async def test_an_essential_task_that_dies_stops_the_daemon_with_an_error(tmp_path: Any) -> None:
    with _home_env(tmp_path) as env:
        settings = load_settings(env=env, overrides={"port": 0})

        async def dies_after_start() -> None:
            await anyio.sleep(0.2)
            raise RuntimeError("essential task broke")

        def customize(ctx: DaemonContext) -> dict[str, Any]:
            return {"lifespan_hooks": [lambda tg: tg.start_soon(dies_after_start)]}

        with anyio.fail_after(30), pytest.raises(serve.EssentialTaskFailed):
            await serve.run(settings, customize=customize)
        assert not settings.daemon_state_path.exists()


def test_the_metrics_body_stays_small_after_junk(full_daemon: RunningDaemon) -> None:
    holder = full_daemon.create_family({"agent-auth:metrics": "allow"}, allow_reserved=True)
    auth = {"Authorization": f"Bearer {holder.access_token}"}
    with httpx2.Client(base_url=full_daemon.url, timeout=20) as http:
        before = len(http.get("/agent-auth/metrics", headers=auth).content)
        for n in range(200):
            http.request(f"X{n}", "/nope/" + str(n))
        after = len(http.get("/agent-auth/metrics", headers=auth).content)
    assert after - before < 4096, (before, after)
