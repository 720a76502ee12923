"""``agent-auth serve``: run the daemon until a signal, then drain and checkpoint.

SIGTERM/SIGINT stop accepting connections and let in-flight requests finish within
``shutdown_grace_seconds``; a second signal abandons the drain, and if the process has still not ended
``HARD_EXIT_SECONDS`` later (thousands of sessions to tear down) it exits at once (the store and the audit
log are crash-safe, as after ``kill -9``). The WAL is checkpointed on the way out.

Never half-alive: if an essential task (the admin socket server, maintenance, the MCP session manager)
dies while serving, the daemon stops and ``run`` raises :class:`EssentialTaskFailed`, so the command exits
non-zero with the reason and a service manager restarts it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import signal
import socket
import threading
from collections.abc import Callable, Generator
from pathlib import Path
from types import FrameType
from typing import Any

import anyio
import uvicorn

from auth.bootstrap import StorePaths, open_authority
from auth.fsutil import ensure_private_dir, write_private_file
from auth.keys import select_key_store
from mcp_server.daemon.admin_socket import AdminServer
from mcp_server.daemon.app import build_app
from mcp_server.daemon.context import DaemonContext
from mcp_server.daemon.guard import ConnectionLimits, connection_budget, protocol_kwargs, raise_nofile_limit
from mcp_server.daemon.home_lock import serving
from mcp_server.errors import AgentAuthError
from mcp_server.settings import Settings

log = logging.getLogger(__name__)
_FORCE_EXIT_POLL_SECONDS = 0.1


SECOND_SIGNAL_EXIT_CODE = 130
HARD_EXIT_SECONDS = 0.5


class EssentialTaskFailed(AgentAuthError, RuntimeError):
    """A task the daemon cannot serve without stopped; the daemon exited instead of serving half."""

    code = "essential_task_failed"


class _Server(uvicorn.Server):
    """uvicorn's server with our signal policy: first signal drains, second exits at once."""

    def __init__(
        self,
        config: uvicorn.Config,
        *,
        on_shutdown: Callable[[], None] | None = None,
        hard_exit_seconds: float | None = None,
    ) -> None:
        super().__init__(config)
        self.on_shutdown = on_shutdown
        self.hard_exit_seconds = hard_exit_seconds
        self.failure: str | None = None

    async def on_tick(self, counter: int) -> bool:
        # The app's lifespan holds the essential tasks; uvicorn only logs its death and serves on.
        lifespan = getattr(self, "lifespan", None)
        if self.failure is None and self.started and getattr(lifespan, "error_occurred", False):
            self.failure = "an essential task of the daemon stopped (the error is logged above)"
        if self.failure is not None:
            return True
        return await super().on_tick(counter)

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        # Before the drain: answer what would otherwise wait past the deadline (pending approvals).
        if self.on_shutdown is not None:
            self.on_shutdown()
        # uvicorn checks force_exit only between its drain steps; a step that hangs (the application's
        # lifespan shutdown waiting on a client) would ignore a second signal. Watch for it here.
        draining = asyncio.ensure_future(super().shutdown(sockets))
        while not draining.done():
            if self.force_exit:
                draining.cancel()
                break
            await asyncio.wait({draining}, timeout=_FORCE_EXIT_POLL_SECONDS)
        with contextlib.suppress(asyncio.CancelledError):
            await draining

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        previous = {sig: signal.signal(sig, self.handle_exit) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            yield
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        if self.should_exit:
            log.warning("second signal: exiting at once")
            self.force_exit = True
            # Abandoning the lifespan makes starlette report its cancellation as a failed shutdown, with a
            # CancelledError traceback: expected here, so not shown.
            logging.getLogger("uvicorn.error").addFilter(_drop_cancellation_reports)
            if self.hard_exit_seconds is not None:
                # Ending thousands of sessions' tasks can still take long after the drain is abandoned; the
                # person asked twice, so the process leaves within this bound whatever is left (the store
                # and the audit log are crash-safe, as after kill -9).
                timer = threading.Timer(self.hard_exit_seconds, _exit_now)
                timer.daemon = True
                timer.start()
        else:
            log.warning("shutting down: finishing in-flight requests (send the signal again to exit at once)")
            self.should_exit = True


def _exit_now() -> None:
    os.write(2, b"agent-auth: exited on the second signal\n")
    os._exit(SECOND_SIGNAL_EXIT_CODE)


class ListenError(AgentAuthError, OSError):
    """The daemon cannot listen on its address (port in use, address not on this machine, no permission)."""

    code = "listen_failed"


def _drop_cancellation_reports(record: logging.LogRecord) -> bool:
    """After a forced exit, starlette reports the abandoned lifespan as a failed shutdown (a traceback)."""
    exc = record.exc_info[1] if record.exc_info else None
    if isinstance(exc, asyncio.CancelledError):
        return False
    return not record.getMessage().startswith("Traceback (most recent call last)")


def bind_socket(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP explicitly: asyncio sets TCP_NODELAY only on accepted sockets whose proto says TCP, and
    # without it every response written in two parts waits ~40 ms for the client's delayed ACK.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise ListenError(
            exc.errno,
            f"cannot listen on {host}:{port}: {exc.strerror}; pick another --port "
            "(0 chooses a free one) or stop the other process",
        ) from None
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def open_context(settings: Settings) -> DaemonContext:
    key_store = select_key_store(settings.key_store, settings.key_file_path)
    authority = open_authority(
        StorePaths(settings.database_path, settings.audit_log_path), key_store, audit_fsync=settings.audit_fsync
    )
    return DaemonContext.build(settings, authority)


def write_daemon_state(path: Path, data: dict[str, Any]) -> None:
    ensure_private_dir(path.parent)
    write_private_file(path, json.dumps(data).encode())


async def run(
    settings: Settings,
    *,
    ctx: DaemonContext | None = None,
    on_ready: Callable[[DaemonContext], None] | None = None,
    customize: Callable[[DaemonContext], dict[str, Any]] | None = None,
    stop: anyio.Event | None = None,
) -> None:
    """Serve until a signal, or until ``stop`` is set (embedding and tests), then drain as on SIGTERM.

    ``customize`` may add routes/lifespan hooks (the MCP endpoint does).
    """
    with serving(settings.data_dir, settings.daemon_state_path):
        await _run_locked(settings, ctx=ctx, on_ready=on_ready, customize=customize, stop=stop)


async def _run_locked(
    settings: Settings,
    *,
    ctx: DaemonContext | None,
    on_ready: Callable[[DaemonContext], None] | None,
    customize: Callable[[DaemonContext], dict[str, Any]] | None,
    stop: anyio.Event | None,
) -> None:
    sock = bind_socket(settings.host, settings.port)
    try:
        ctx = ctx or open_context(settings)
    except BaseException:
        sock.close()
        raise
    host, port = sock.getsockname()[:2]
    scheme = "https" if settings.tls_cert else "http"
    shown_host = f"[{host}]" if ":" in host else host
    ctx.url = f"{scheme}://{shown_host}:{port}"
    extra: dict[str, Any] = customize(ctx) if customize else {}
    admin = AdminServer(ctx, settings.admin_socket_path)
    nofile = raise_nofile_limit()
    limits = ConnectionLimits(
        max_connections=connection_budget(settings.max_connections, nofile),
        header_timeout_seconds=settings.request_header_timeout_seconds,
        body_timeout_seconds=settings.request_body_timeout_seconds,
    )
    if limits.max_connections < settings.max_connections:
        log.warning(
            "the open-file limit (%d) allows %d HTTP connections, not %d; raise it (ulimit -n) for more",
            nofile,
            limits.max_connections,
            settings.max_connections,
        )

    def start_admin(tg: anyio.abc.TaskGroup) -> Any:
        return _AdminRunner(admin, tg)

    app = build_app(
        ctx, extra_routes=extra.get("routes"), lifespan_hooks=[start_admin, *extra.get("lifespan_hooks", [])]
    )
    config = uvicorn.Config(
        app,
        log_level=settings.log_level if settings.log_level != "info" else "warning",
        access_log=False,
        log_config=None,  # uvicorn's loggers go through the root handler: neutralised, repeats limited
        ssl_certfile=str(settings.tls_cert) if settings.tls_cert else None,
        ssl_keyfile=str(settings.tls_key) if settings.tls_key else None,
        timeout_graceful_shutdown=int(max(1, settings.shutdown_grace_seconds)),
        lifespan="on",
        server_header=False,
        **protocol_kwargs(limits),
    )

    def on_shutdown() -> None:
        ctx.broker.close()
        for hook in ctx.shutdown_hooks:  # e.g. wake long polls so the drain is quick
            hook()

    server = _Server(config, on_shutdown=on_shutdown, hard_exit_seconds=HARD_EXIT_SECONDS)

    async def announce() -> None:
        while not server.started:
            if server.should_exit:
                return
            await anyio.sleep(0.02)
        write_daemon_state(
            settings.daemon_state_path,
            {
                "url": ctx.url,
                "pid": os.getpid(),
                "admin_socket": str(settings.admin_socket_path),
            },
        )
        if on_ready is not None:
            on_ready(ctx)

    async def stop_when_asked(event: anyio.Event) -> None:
        await event.wait()
        server.should_exit = True

    try:
        async with anyio.create_task_group() as tg:
            tg.start_soon(announce)
            if stop is not None:
                tg.start_soon(stop_when_asked, stop)
            await server.serve(sockets=[sock])
            tg.cancel_scope.cancel()
        if server.failure is not None:
            raise EssentialTaskFailed(server.failure)
    finally:
        with contextlib.suppress(OSError):
            settings.daemon_state_path.unlink()
        with contextlib.suppress(Exception):
            ctx.authority.checkpoint_audit()
        with contextlib.suppress(Exception):
            ctx.authority.db.checkpoint()
        ctx.gate.close()
        ctx.authority.audit.close()
        ctx.authority.db.dispose()
        sock.close()


class _AdminRunner:
    """Runs the admin socket server for the lifetime of the app's lifespan."""

    def __init__(self, admin: AdminServer, tg: anyio.abc.TaskGroup) -> None:
        self.admin = admin
        self.tg = tg

    async def __aenter__(self) -> _AdminRunner:
        await self.tg.start(self.admin.serve)
        return self

    async def __aexit__(self, *exc: object) -> None:
        return None
