"""Graceful shutdown with a request in flight; every route in the OpenAPI contract; the terminal notifier."""

from __future__ import annotations

import io
import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import anyio
import httpx2
import pytest
from starlette.routing import Route

from mcp_server.cli.terminal_notifier import make_server
from mcp_server.daemon.app import build_app
from mcp_server.daemon.context import DaemonContext
from mcp_server.daemon.notifier import HttpNotifierChannel
from mcp_server.notifier_protocol import SIGNATURE_HEADER, answer_is_signed, sign_request
from tests.support.approvals import admin_subscriber
from tests.support.daemon import RunningDaemon
from tests.support.hostile_text import HOSTILE, raw_controls
from tests.support.openapi import SpecChecker, SpecViolation, checking_client, load_spec

pytestmark = pytest.mark.anyio

SCOPES = {"things:read": "allow", "gpg:sign": "prompt"}


# --- shutdown -----------------------------------------------------------------------------------


async def test_a_prompt_waiting_when_shutdown_starts_is_answered_before_the_deadline(start: Any) -> None:
    daemon: RunningDaemon = start(approval_timeout_seconds=60, shutdown_grace_seconds=3)
    issued = daemon.create_family(SCOPES)
    async with admin_subscriber(daemon.admin_socket) as sub, checking_client(daemon.url, timeout=30) as http:
        result: dict[str, Any] = {}
        async with anyio.create_task_group() as tg:

            async def waiting() -> None:
                body = {"token": issued.access_token, "required_scope": "gpg:sign", "description": "x"}
                result["response"] = await http.post("/agent-auth/v1/validate", json=body)

            tg.start_soon(waiting)
            await sub.next_event("approval.created")
            started = time.monotonic()
            await anyio.to_thread.run_sync(daemon.request_stop)
            with anyio.fail_after(3):
                decided = await sub.next_event("approval.decided")
    elapsed = time.monotonic() - started
    response = result["response"]
    assert response.status_code == 403
    assert response.json()["error"] == "scope_denied"
    assert response.json()["detail"] == "cancelled"
    assert decided["decision"]["decided_by"] == "shutdown"
    assert elapsed < 3
    await anyio.to_thread.run_sync(daemon.stop)
    assert not daemon.admin_socket.exists()
    assert not daemon.settings.daemon_state_path.exists()


def test_the_daemon_stops_cleanly_and_checkpoints(daemon: RunningDaemon) -> None:
    issued = daemon.create_family(SCOPES)
    with httpx2.Client(base_url=daemon.url) as http:
        assert http.post(
            "/agent-auth/v1/validate", json={"token": issued.access_token, "required_scope": "things:read"}
        ).is_success
    daemon.stop()
    assert not daemon.admin_socket.exists()
    with pytest.raises(httpx2.ConnectError):
        httpx2.get(daemon.url + "/agent-auth/health", timeout=2)


# --- the OpenAPI contract -----------------------------------------------------------------------


def _app_routes(daemon: RunningDaemon) -> set[tuple[str, str]]:
    settings = daemon.settings
    ctx = daemon.ctx
    enabled = type(settings)(**{**settings.__dict__, "management_endpoints_enabled": True})
    original = ctx.settings
    ctx.settings = enabled
    try:
        app = build_app(ctx)
    finally:
        ctx.settings = original
    found = set()
    for route in app.routes:
        assert isinstance(route, Route)
        for method in route.methods or ():
            if method != "HEAD":
                found.add((route.path, method.lower()))
    return found


def test_every_route_of_the_app_is_in_the_spec_and_nothing_else(daemon: RunningDaemon) -> None:
    spec = load_spec()
    documented = {(path, method) for path, item in spec["paths"].items() for method in item if method != "parameters"}
    assert _app_routes(daemon) == documented


def test_every_error_response_in_the_spec_lists_its_codes() -> None:
    spec = load_spec()
    assert spec["openapi"].startswith("3.1")
    for schema_name, schema in spec["components"]["schemas"].items():
        if schema.get("allOf") and schema["allOf"][0] == {"$ref": "#/components/schemas/Error"}:
            error = schema["allOf"][1]["properties"]["error"]
            assert "enum" in error or "const" in error, schema_name


def test_the_spec_checker_rejects_undocumented_answers() -> None:
    checker = SpecChecker()
    ok = b'{"valid": true, "tier": "allow"}'
    checker.check("POST", "/agent-auth/v1/validate", 200, {"content-type": "application/json"}, ok)
    for status, body in [
        (500, b'{"error": "internal_error"}'),
        (418, b'{"error": "teapot"}'),
        (401, b'{"valid": false, "error": "made_up_code"}'),
        (200, b'{"valid": "yes"}'),
    ]:
        with pytest.raises(SpecViolation):
            checker.check("POST", "/agent-auth/v1/validate", status, {"content-type": "application/json"}, body)
    with pytest.raises(SpecViolation):
        checker.check("POST", "/agent-auth/health", 405, {"content-type": "application/json"}, b'{"error": "x"}')


# --- the terminal notifier ----------------------------------------------------------------------


SECRET = b"k" * 32


@contextmanager
def terminal_notifier(answers: str) -> Iterator[tuple[str, io.StringIO]]:
    output = io.StringIO()
    server = make_server("127.0.0.1", 0, io.StringIO(answers), output, lambda: SECRET)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    host, port = server.server_address[:2]
    try:
        yield f"http://{host!s}:{port}/", output
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def signed_post(
    http: httpx2.Client, url: str, request: dict[str, Any], secret: bytes = SECRET, **headers: str
) -> httpx2.Response:
    body = json.dumps({"nonce": "n1", "expires_at": time.time() + 60, **request}).encode()
    signature = {SIGNATURE_HEADER: sign_request(secret, body)}
    return http.post(url, content=body, headers={"Content-Type": "application/json", **signature, **headers})


def test_the_terminal_notifier_answers_once_hour_minutes_and_deny() -> None:
    request = {"family_id": "f" * 32, "scope": "gpg:sign", "description": "sign commit abc"}
    with terminal_notifier("o\nh\n15\nd\nnonsense\n") as (url, output), httpx2.Client(timeout=10) as http:
        responses = [signed_post(http, url, request) for _ in range(6)]  # the sixth meets end of input
        malformed = http.post(url, content=b"{not json", headers={SIGNATURE_HEADER: sign_request(SECRET, b"{not json")})
    assert all(answer_is_signed(SECRET, r.content, r.headers.get(SIGNATURE_HEADER)) for r in responses)
    assert [r.json() for r in responses] == [
        {"approved": True, "grant_type": "once", "nonce": "n1"},
        {"approved": True, "grant_type": "timed", "duration_minutes": 60, "nonce": "n1"},
        {"approved": True, "grant_type": "timed", "duration_minutes": 15, "nonce": "n1"},
        {"approved": False, "nonce": "n1"},
        {"approved": False, "nonce": "n1"},
        {"approved": False, "nonce": "n1"},
    ]
    assert malformed.status_code == 415  # not even labelled JSON
    assert "gpg:sign" in output.getvalue() and "sign commit abc" in output.getvalue()


def test_the_terminal_notifier_answers_only_the_daemon() -> None:
    """Unsigned, mis-signed, cross-origin, non-JSON and expired requests are refused without a prompt."""
    request = {"family_id": "f" * 32, "scope": "gpg:sign", "description": HOSTILE}
    body = json.dumps({"nonce": "n", "expires_at": time.time() + 60, **request}).encode()
    with terminal_notifier("o\n" * 10) as (url, output), httpx2.Client(timeout=10) as http:
        unsigned = http.post(url, json=request)
        mis_signed = signed_post(http, url, request, secret=b"x" * 32)
        cross_origin = signed_post(http, url, request, Origin="https://evil.example")
        fetch_site = signed_post(http, url, request, **{"Sec-Fetch-Site": "cross-site"})
        text_plain = http.post(
            url, content=body, headers={"Content-Type": "text/plain", SIGNATURE_HEADER: sign_request(SECRET, body)}
        )
        expired = signed_post(http, url, {**request, "expires_at": time.time() - 1})
        get = http.get(url)
        assert output.getvalue() == ""  # nothing was shown for any of them
        honest = signed_post(http, url, request)
    assert [r.status_code for r in (unsigned, mis_signed, cross_origin, fetch_site, text_plain, expired)] == [
        401,
        401,
        403,
        403,
        415,
        410,
    ]
    assert get.status_code == 405
    assert honest.json()["approved"] is True
    shown = output.getvalue()
    assert "␛[2J" in shown and "␛]0;pwned␇" in shown
    assert raw_controls(shown) == []


async def test_a_prompt_waits_for_the_terminal_notifier(start: Any) -> None:
    with terminal_notifier("h\n") as (url, _output):

        def prepare(ctx: DaemonContext) -> None:
            ctx.broker.add_channel(HttpNotifierChannel(url, secret=SECRET, timeout_seconds=10))

        daemon: RunningDaemon = start(prepare=prepare)
        issued = daemon.create_family(SCOPES)
        async with checking_client(daemon.url, timeout=30) as http:
            body = {"token": issued.access_token, "required_scope": "gpg:sign"}
            first = await http.post("/agent-auth/v1/validate", json=body)
            second = await http.post("/agent-auth/v1/validate", json=body)  # the hour grant; stdin is spent
    assert (first.status_code, second.status_code) == (200, 200)
    assert json.loads(json.dumps(daemon.ctx.broker.grants()))[0]["scope"] == "gpg:sign"
