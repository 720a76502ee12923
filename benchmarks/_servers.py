"""Servers the HTTP benchmarks talk to, each run as its own process: ``python -m benchmarks._servers KIND``.

- ``daemon``: the real daemon (``serve.run``: token service, timing and body-limit middleware, admin socket,
  maintenance task) with the MCP surface and one trivial allow-tier tool, configured from the environment.
- ``bare``: a bare ASGI app that reads the body and returns fixed JSON — the floor for ``/validate``.
- ``ungated``: an ``MCPServer`` with the same trivial tool and no auth — the floor for ``/mcp``.

The baselines run on the same ``uvicorn.Config`` options as the daemon. Each prints ``READY {json}`` on
stdout once it accepts connections, then serves until SIGTERM.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from typing import Any

import anyio
import uvicorn
from mcp.server import MCPServer
from starlette.types import Receive, Scope, Send

from mcp_server.daemon.compose import compose
from mcp_server.daemon.context import DaemonContext
from mcp_server.daemon.serve import bind_socket, open_context, run
from mcp_server.integration import ToolsOnly
from mcp_server.mcp.registry import ToolSpec
from mcp_server.settings import load_settings

BENCH_SCOPE = "bench:read"
FIXED_BODY = b'{"valid":true,"tier":"allow"}'


async def ping(text: str) -> str:
    """Return the text unchanged (a trivial tool)."""
    return text


def ping_spec() -> ToolSpec:
    return ToolSpec("ping", ping, BENCH_SCOPE, "Return the text unchanged.", read_only=True)


def _announce(url: str) -> None:
    sys.stdout.write("READY " + json.dumps({"url": url, "pid": os.getpid()}) + "\n")
    sys.stdout.flush()


def _config(app: Any) -> uvicorn.Config:
    # The options serve.run uses (minus TLS), so the baselines differ from the daemon only in the app.
    return uvicorn.Config(
        app,
        log_level="warning",
        access_log=False,
        timeout_graceful_shutdown=1,
        lifespan="on",
        server_header=False,
    )


async def bare_app(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    more = True
    while more:
        message = await receive()
        more = bool(message.get("more_body", False))
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(FIXED_BODY)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": FIXED_BODY})


async def _serve_plain(app: Any) -> None:
    sock = bind_socket("127.0.0.1", 0)
    host, port = sock.getsockname()[:2]
    server = uvicorn.Server(_config(app))

    async def announce() -> None:
        while not server.started:
            await asyncio.sleep(0.01)
        _announce(f"http://{host}:{port}")

    task = asyncio.create_task(announce())
    await server.serve(sockets=[sock])
    task.cancel()


def serve_daemon() -> None:
    settings = load_settings()
    ctx = open_context(settings)

    def ready(c: DaemonContext) -> None:
        assert c.url is not None
        _announce(c.url)

    anyio.run(
        lambda: run(
            settings, ctx=ctx, on_ready=ready, customize=lambda c: compose(c, [ToolsOnly("ping", [ping_spec()])])
        )
    )


def ungated_server() -> MCPServer:
    server = MCPServer("bench-ungated")
    server.add_tool(ping, name="ping", description="Return the text unchanged.")
    return server


def serve_ungated() -> None:
    server = ungated_server()
    app = server.streamable_http_app(streamable_http_path="/mcp", host="127.0.0.1")
    asyncio.run(_serve_plain(app))


def main() -> None:
    kind = sys.argv[1]
    if kind == "daemon":
        serve_daemon()
    elif kind == "bare":
        asyncio.run(_serve_plain(bare_app))
    elif kind == "ungated":
        serve_ungated()
    else:
        raise SystemExit(f"unknown server kind {kind!r}")


if __name__ == "__main__":
    main()
