"""``agent-auth notifier terminal``: the seed's reference notifier — asks on this terminal.

It listens on 127.0.0.1 for the daemon's notifier POSTs and prompts: [o]nce, [h]our (60 min), a number of
minutes, or [d]eny (the default, also on EOF). Point the daemon at it with
``notification_plugin_url = "http://127.0.0.1:<port>/"``.
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
from typing import TYPE_CHECKING, Any, TextIO

from mcp_server.cli.app import Application

if TYPE_CHECKING:
    from http.server import ThreadingHTTPServer


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser) -> None:
    notifier = sub.add_parser("notifier", help="approval notifiers that run outside the daemon")
    nsub = notifier.add_subparsers(dest="notifier_command", required=True, metavar="COMMAND")
    terminal = nsub.add_parser(
        "terminal",
        help="prompt for approvals on this terminal (the seed's reference notifier)",
        description=__doc__,
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


def make_server(host: str, port: int, stdin: TextIO, stdout: TextIO) -> ThreadingHTTPServer:
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    prompt_lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            return

        def do_POST(self) -> None:
            try:
                length = int(self.headers.get("Content-Length", "0"))
                if length > 65536:
                    raise ValueError("too large")
                data = json.loads(self.rfile.read(length))
                scope, description, family = data["scope"], data.get("description") or "", data["family_id"]
            except (ValueError, KeyError, TypeError):
                self._send(400, {"error": "malformed_request"})
                return
            with prompt_lock:
                stdout.write(
                    f"\nApproval requested\n  family: {family}\n  scope:  {scope}\n  what:   {description}\n"
                    "Approve? [o]nce / [h]our / N minutes / [d]eny: "
                )
                stdout.flush()
                answer = stdin.readline()
                result = decide_from_answer(answer)
                stdout.write(("approved" if result["approved"] else "denied") + "\n")
                stdout.flush()
            self._send(200, result)

        def _send(self, status: int, body: dict[str, Any]) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    return ThreadingHTTPServer((host, port), Handler)


def cmd_terminal(app: Application, args: argparse.Namespace) -> int:
    server = make_server(args.host, args.port, sys.stdin, sys.stderr)
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
