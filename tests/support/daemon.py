"""A real agent-auth daemon for tests: uvicorn on 127.0.0.1:0 and the admin socket, in a background thread.

The daemon runs ``mcp_server.daemon.serve.run`` under its own event loop (``anyio.run``) in a thread, so a
test drives it over real HTTP and a real unix socket from its own loop (or synchronously). ``stop`` asks it
to shut down exactly as SIGTERM does and waits for the thread, bounded.
"""

from __future__ import annotations

import contextlib
import shutil
import tempfile
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import anyio
import anyio.from_thread
import anyio.lowlevel

from auth.families import DEFAULT_ACCESS_TTL_SECONDS, DEFAULT_REFRESH_TTL_SECONDS, IssuedTokens
from auth.scopes import Tier
from mcp_server.daemon.compose import compose
from mcp_server.daemon.context import DaemonContext
from mcp_server.daemon.serve import open_context, run
from mcp_server.integration import Integration
from mcp_server.settings import Settings, load_settings

T = TypeVar("T")

READY_TIMEOUT_SECONDS = 15.0
STOP_TIMEOUT_SECONDS = 20.0


@contextmanager
def isolated_env(home: Path, **settings: str) -> Iterator[dict[str, str]]:
    """Environment for an isolated daemon/CLI run: XDG dirs under ``home``, file key store, port 0.

    The runtime dir (the admin socket's home) is a short directory under the system temp dir: a unix
    socket path must stay under ~100 bytes, and pytest's ``tmp_path`` can be longer than that.
    """
    runtime = Path(tempfile.mkdtemp(prefix="aa-"))
    env = {
        "HOME": str(home),
        "XDG_DATA_HOME": str(home / "data"),
        "XDG_STATE_HOME": str(home / "state"),
        "XDG_CONFIG_HOME": str(home / "config"),
        "XDG_RUNTIME_DIR": str(runtime),
        "AGENT_AUTH_KEY_STORE": "file",
        "AGENT_AUTH_PORT": "0",
        "AGENT_AUTH_APPROVAL_TIMEOUT_SECONDS": "10",
        "AGENT_AUTH_SHUTDOWN_GRACE_SECONDS": "5",
        "AGENT_AUTH_NOTIFICATION_TIMEOUT_SECONDS": "5",
    }
    env.update({f"AGENT_AUTH_{k.upper()}": v for k, v in settings.items()})
    try:
        yield env
    finally:
        shutil.rmtree(runtime, ignore_errors=True)


@dataclass
class RunningDaemon:
    settings: Settings
    ctx: DaemonContext
    url: str
    thread: threading.Thread
    _token: anyio.lowlevel.EventLoopToken
    _stop: anyio.Event
    errors: list[BaseException] = field(default_factory=list)

    @property
    def port(self) -> int:
        return int(self.url.rsplit(":", 1)[1])

    @property
    def admin_socket(self) -> Path:
        return self.settings.admin_socket_path

    def in_loop(self, fn: Callable[[], T]) -> T:
        """Run ``fn`` on the daemon's event loop thread and return its result."""
        return anyio.from_thread.run_sync(fn, token=self._token)

    def create_family(
        self,
        scopes: Mapping[str, str],
        *,
        label: str | None = None,
        now: float | None = None,
        access_ttl_seconds: int = DEFAULT_ACCESS_TTL_SECONDS,
        refresh_ttl_seconds: int = DEFAULT_REFRESH_TTL_SECONDS,
        allow_reserved: bool = False,
    ) -> IssuedTokens:
        """Create a family straight in the daemon's store (as the CLI does without a daemon)."""
        return self.ctx.authority.create_family(
            {name: Tier(tier) for name, tier in scopes.items()},
            label=label,
            now=now,
            access_ttl_seconds=access_ttl_seconds,
            refresh_ttl_seconds=refresh_ttl_seconds,
            allow_reserved=allow_reserved,
        )

    def request_stop(self) -> None:
        """Start a graceful shutdown (as SIGTERM does) without waiting for it."""
        if self.thread.is_alive():
            anyio.from_thread.run_sync(self._stop.set, token=self._token)

    def stop(self, timeout_seconds: float = STOP_TIMEOUT_SECONDS) -> None:
        with_errors = self.errors
        with contextlib.suppress(RuntimeError):  # the loop already finished
            self.request_stop()
        self.thread.join(timeout_seconds)
        if self.thread.is_alive():
            raise AssertionError(f"the daemon did not stop within {timeout_seconds} s")
        if with_errors:
            raise AssertionError(f"the daemon failed: {with_errors[0]!r}") from with_errors[0]


def start_daemon(
    env: Mapping[str, str] | None = None,
    *,
    overrides: Mapping[str, Any] | None = None,
    prepare: Callable[[DaemonContext], None] | None = None,
    integrations: Sequence[Integration] | None = None,
    settings: Settings | None = None,
) -> RunningDaemon:
    """Start a daemon in a thread, as ``agent-auth serve`` would, and wait until it serves.

    Settings come from ``env`` (or are given whole); ``prepare`` may add approval channels before it serves.
    ``integrations`` (e.g. ``[Things()]``, or ``composition.integrations()``) are attached and the MCP endpoint
    mounted as ``agent-auth serve`` composes them; without them (None) the daemon is the token service alone.
    """
    if settings is None:
        settings = load_settings(env=env, overrides=overrides)
    ctx = open_context(settings)
    if prepare is not None:
        prepare(ctx)
    ready = threading.Event()
    handles: dict[str, Any] = {}
    errors: list[BaseException] = []
    composed = None if integrations is None else list(integrations)

    async def main() -> None:
        handles["token"] = anyio.lowlevel.current_token()
        handles["stop"] = stop = anyio.Event()
        await run(
            settings,
            ctx=ctx,
            on_ready=lambda _ctx: ready.set(),
            customize=(lambda c: compose(c, composed)) if composed is not None else None,
            stop=stop,
        )

    def thread_main() -> None:
        try:
            anyio.run(main)
        except BaseException as exc:  # reported by stop() and by start_daemon when it never got ready
            errors.append(exc)
        finally:
            ready.set()

    thread = threading.Thread(target=thread_main, name="agent-auth-daemon", daemon=True)
    thread.start()
    if not ready.wait(READY_TIMEOUT_SECONDS):
        raise AssertionError(f"the daemon did not start within {READY_TIMEOUT_SECONDS} s")
    if errors:
        raise AssertionError(f"the daemon failed to start: {errors[0]!r}") from errors[0]
    assert ctx.url is not None
    return RunningDaemon(settings, ctx, ctx.url, thread, handles["token"], handles["stop"], errors)
