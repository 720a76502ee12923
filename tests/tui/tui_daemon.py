"""A real agent-auth daemon for tests: ``serve.run`` on its own event loop in a background thread."""

from __future__ import annotations

import threading
from pathlib import Path

import anyio
import anyio.from_thread
import anyio.lowlevel

from mcp_server.daemon import serve
from mcp_server.daemon.context import DaemonContext
from mcp_server.settings import Settings, load_settings

START_TIMEOUT_SECONDS = 15.0


class RunningDaemon:
    """``serve.run`` on its own event loop in a thread; ``stop()`` drains it like a first SIGTERM."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.ctx: DaemonContext | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._stop: anyio.Event | None = None
        self._token: anyio.lowlevel.EventLoopToken | None = None
        self._thread = threading.Thread(target=self._main, name="agent-auth-daemon", daemon=True)

    def _main(self) -> None:
        async def main() -> None:
            stop = anyio.Event()

            def ready(ctx: DaemonContext) -> None:
                self.ctx = ctx
                self._stop = stop
                self._token = anyio.lowlevel.current_token()
                self._ready.set()

            await serve.run(self.settings, on_ready=ready, stop=stop)

        try:
            anyio.run(main)
        except BaseException as exc:  # surfaced to the test by start()
            self._error = exc
            self._ready.set()

    def start(self) -> RunningDaemon:
        self._thread.start()
        if not self._ready.wait(START_TIMEOUT_SECONDS):
            raise TimeoutError("the daemon did not start")
        if self._error is not None:
            raise RuntimeError("the daemon failed to start") from self._error
        return self

    def stop(self) -> None:
        if self._stop is not None and self._thread.is_alive():
            # serve.run's stop event lives on the daemon's loop: set it from there.
            anyio.from_thread.run_sync(self._stop.set, token=self._token)
        self._thread.join(START_TIMEOUT_SECONDS)
        assert not self._thread.is_alive(), "the daemon did not stop"

    @property
    def socket_path(self) -> Path:
        return self.settings.admin_socket_path

    @property
    def url(self) -> str:
        assert self.ctx is not None and self.ctx.url is not None
        return self.ctx.url


class DaemonFactory:
    """Starts daemons that share one set of state dirs (so a restarted daemon sees the same store)."""

    def __init__(self, root: Path, runtime: Path) -> None:
        self.env = {
            "HOME": str(root),
            "XDG_DATA_HOME": str(root / "data"),
            "XDG_STATE_HOME": str(root / "state"),
            "XDG_CONFIG_HOME": str(root / "config"),
            # Unix socket paths must stay short (~100 bytes); pytest's tmp_path can be longer.
            "XDG_RUNTIME_DIR": str(runtime),
            "AGENT_AUTH_KEY_STORE": "file",
            "AGENT_AUTH_PORT": "0",
            "AGENT_AUTH_SHUTDOWN_GRACE_SECONDS": "1",
        }
        self.running: list[RunningDaemon] = []

    def settings(self, **env: str) -> Settings:
        return load_settings(env={**self.env, **env})

    def start(self, **env: str) -> RunningDaemon:
        daemon = RunningDaemon(self.settings(**env))
        self.running.append(daemon)
        return daemon.start()

    def stop_all(self) -> None:
        for daemon in self.running:
            daemon.stop()
