"""``agent-auth notifier terminal``: the reference notifier — asks on this terminal.

It listens on 127.0.0.1 for the daemon's notifier POSTs and prompts: [o]nce, [h]our (60 min), a number of
minutes, or [d]eny (the default, also on EOF). Point the daemon at it with
``notification_plugin_url = "http://127.0.0.1:<port>/"``.

It answers only the daemon: a request must be JSON, carry no ``Origin`` (a web page's cross-origin POST
does), be signed with the daemon's notifier secret (read from its runtime directory, which only this user
can read) and not have expired; anything else is refused without a prompt. What it prints is neutralised,
so a description cannot move the cursor, retitle the window or touch the clipboard.
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from auth.untrusted import neutralise
from mcp_server.cli.app import Application
from mcp_server.errors import http_status
from mcp_server.notifier_protocol import (
    SIGNATURE_HEADER,
    NotifierSecretError,
    read_secret,
    request_is_signed,
    sign_answer,
)

if TYPE_CHECKING:
    from http.server import ThreadingHTTPServer

MAX_REQUEST_BYTES = 65536
REQUEST_READ_TIMEOUT_SECONDS = 10.0


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser) -> None:
    notifier = sub.add_parser("notifier", help="approval notifiers that run outside the daemon")
    nsub = notifier.add_subparsers(dest="notifier_command", required=True, metavar="COMMAND")
    terminal = nsub.add_parser(
        "terminal",
        help="prompt for approvals on this terminal (the seed's reference notifier)",
        description=(__doc__ or "").replace("``", "'"),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    terminal.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    terminal.add_argument("--port", type=int, default=9150, help="port to listen on (default 9150; 0 = any)")
    terminal.set_defaults(handler=cmd_terminal)


def decide_from_answer(answer: str) -> dict[str, Any]:
    text = answer.strip().lower()
    if text in ("o", "once", "y", "yes"):
        return {"approved": True, "grant_type": "once"}
    if text in ("h", "hour", "60"):
        return {"approved": True, "grant_type": "timed", "duration_minutes": 60}
    if text.isdigit() and 1 <= int(text) <= 1440:
        return {"approved": True, "grant_type": "timed", "duration_minutes": int(text)}
    return {"approved": False}


def make_server(
    host: str,
    port: int,
    stdin: TextIO,
    stdout: TextIO,
    secret: Callable[[], bytes],
    clock: Callable[[], float] = time.time,
) -> ThreadingHTTPServer:
    """The notifier's HTTP server; ``secret`` returns the daemon's current secret (it changes per start)."""
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    prompt_lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        timeout = REQUEST_READ_TIMEOUT_SECONDS  # a silent client cannot hold a thread forever

        def log_message(self, format: str, *args: Any) -> None:
            return

        def do_GET(self) -> None:
            self._refuse("method_not_allowed")

        def do_POST(self) -> None:
            if self.headers.get("Origin") is not None or self.headers.get("Sec-Fetch-Site", "none") != "none":
                self._refuse("cross_origin_refused")
                return
            if self.headers.get_content_type() != "application/json":
                self._refuse("json_required")
                return
            try:
                length = int(self.headers.get("Content-Length", ""))
            except ValueError:
                self._refuse("length_required")
                return
            if not 0 < length <= MAX_REQUEST_BYTES:
                self._refuse("request_too_large")
                return
            body = self.rfile.read(length)
            try:
                key = secret()
            except NotifierSecretError as exc:
                stdout.write(f"\nrefused a request: {neutralise(str(exc))}\n")
                stdout.flush()
                self._refuse("no_daemon_secret")
                return
            if not request_is_signed(key, body, self.headers.get(SIGNATURE_HEADER)):
                self._refuse("unauthenticated")
                return
            try:
                data = json.loads(body)
                scope, family, nonce = str(data["scope"]), str(data["family_id"]), str(data["nonce"])
                description = str(data.get("description") or "")
                claim = str(data.get("caller_says") or "")
                expires_at = float(data["expires_at"])
            except (ValueError, KeyError, TypeError):
                self._refuse("malformed_request")
                return
            if clock() >= expires_at:
                self._refuse("request_expired")
                return
            with prompt_lock:
                stdout.write(
                    f"\nApproval requested\n  family: {neutralise(family)}\n  scope:  {neutralise(scope)}\n"
                    f"  what:   {neutralise(description)}\n"
                    + (f"  the caller says (its own words, not checked): {neutralise(claim)}\n" if claim else "")
                    + "Approve? [o]nce / [h]our / N minutes / [d]eny: "
                )
                stdout.flush()
                answer = stdin.readline()
                result = decide_from_answer(answer)
                late = clock() >= expires_at
                stdout.write(("approved" if result["approved"] else "denied") + (" (too late)" if late else "") + "\n")
                stdout.flush()
            self._send(200, {**result, "nonce": nonce}, signing_key=key)

        def _refuse(self, code: str) -> None:
            self._send(http_status(code), {"error": code})

        def _send(self, status: int, body: dict[str, Any], signing_key: bytes | None = None) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            if signing_key is not None:
                self.send_header(SIGNATURE_HEADER, sign_answer(signing_key, data))
            self.end_headers()
            self.wfile.write(data)

    server = ThreadingHTTPServer((host, port), Handler)
    server.daemon_threads = True
    return server


def cmd_terminal(app: Application, args: argparse.Namespace) -> int:
    path: Path = app.settings.notifier_secret_path
    server = make_server(args.host, args.port, sys.stdin, sys.stderr, lambda: read_secret(path))
    host, port = server.server_address[:2]
    sys.stderr.write(
        f"terminal notifier listening on http://{host!s}:{port}/\n"
        f"start the daemon with: AGENT_AUTH_NOTIFICATION_PLUGIN_URL=http://{host!s}:{port}/ agent-auth serve\n"
    )
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0
