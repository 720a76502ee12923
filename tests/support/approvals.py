"""Scripted approvers for tests: a subscriber on the admin socket and a local HTTP notifier (signed protocol)."""

from __future__ import annotations

import json
import secrets
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import anyio

from auth.admin_client import AdminConnection
from mcp_server.notifier_protocol import SIGNATURE_HEADER, request_is_signed, sign_answer

EVENT_TIMEOUT_SECONDS = 10.0


@asynccontextmanager
async def admin_subscriber(socket_path: Path, topics: tuple[str, ...] = ("approvals",)) -> AsyncIterator[Subscriber]:
    """A subscription (one connection) plus a second connection for calls such as ``approvals.decide``."""
    events = await AdminConnection.connect(socket_path)
    calls = await AdminConnection.connect(socket_path)
    async with events, calls:
        await events.call("subscribe", topics=list(topics))
        yield Subscriber(events, calls)


@dataclass
class Subscriber:
    events: AdminConnection
    calls: AdminConnection

    async def next_event(self, kind: str, timeout_seconds: float = EVENT_TIMEOUT_SECONDS) -> dict[str, Any]:
        """The data of the next event of ``kind`` (others are skipped); fails after a bounded wait."""
        with anyio.fail_after(timeout_seconds):
            async for message in self.events.events():
                if message["event"] == kind:
                    data = message["data"]
                    assert isinstance(data, dict)
                    return data
        raise AssertionError("the admin connection closed")

    async def decide(self, approval_id: str, decision: str, **params: Any) -> dict[str, Any]:
        result = await self.calls.call("approvals.decide", approval_id=approval_id, decision=decision, **params)
        assert isinstance(result, dict)
        return result


async def wait_until(condition: Callable[[], bool], timeout_seconds: float = EVENT_TIMEOUT_SECONDS) -> None:
    """Wait for a condition that has no event of its own, checking every 10 ms; fail after a bounded wait."""
    with anyio.fail_after(timeout_seconds):
        while not condition():
            await anyio.sleep(0.01)


@dataclass
class ScriptedNotifier:
    """A local HTTP notifier; answers come from ``answers`` in order.

    By default it behaves as an honest notifier holding the daemon's ``secret``: a JSON object answer gets the
    request's nonce and is signed. ``sign``/``echo_nonce``/``signing_secret`` script the dishonest ones.
    """

    url: str
    answers: list[tuple[int, bytes]]
    secret: bytes = field(default_factory=lambda: secrets.token_bytes(32))
    requests: list[dict[str, Any]] = field(default_factory=list)
    signed_requests: list[bool] = field(default_factory=list)
    received: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)

    @staticmethod
    def approve(grant_type: str = "once", duration_minutes: int | None = None) -> tuple[int, bytes]:
        body: dict[str, Any] = {"approved": True, "grant_type": grant_type}
        if duration_minutes is not None:
            body["duration_minutes"] = duration_minutes
        return 200, json.dumps(body).encode()

    @staticmethod
    def deny() -> tuple[int, bytes]:
        return 200, b'{"approved": false}'


@contextmanager
def scripted_notifier(
    answers: list[tuple[int, bytes]],
    *,
    hold: bool = False,
    sign: bool = True,
    echo_nonce: bool = True,
    signing_secret: bytes | None = None,
) -> Iterator[ScriptedNotifier]:
    """Serve ``answers`` on 127.0.0.1:0. With ``hold``, each answer waits until ``release`` is set."""
    notifier = ScriptedNotifier("", list(answers))
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            return

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            raw = self.rfile.read(length)
            body = json.loads(raw)
            with lock:
                notifier.requests.append(body)
                notifier.signed_requests.append(
                    request_is_signed(notifier.secret, raw, self.headers.get(SIGNATURE_HEADER))
                )
                status, answer = notifier.answers.pop(0) if notifier.answers else (500, b"no answer scripted")
            answer = _honest(answer, body.get("nonce")) if echo_nonce else answer
            notifier.received.set()
            if hold:
                notifier.release.wait(EVENT_TIMEOUT_SECONDS)
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(answer)))
            if sign:
                self.send_header(SIGNATURE_HEADER, sign_answer(signing_secret or notifier.secret, answer))
            self.end_headers()
            self.wfile.write(answer)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    host, port = server.server_address[:2]
    notifier.url = f"http://{host!s}:{port}/"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield notifier
    finally:
        notifier.release.set()
        server.shutdown()
        server.server_close()
        thread.join(5)


def _honest(answer: bytes, nonce: object) -> bytes:
    """A JSON object answer with the request's nonce added (other answers unchanged)."""
    try:
        data = json.loads(answer)
    except ValueError:
        return answer
    return json.dumps({**data, "nonce": nonce}).encode() if isinstance(data, dict) else answer
