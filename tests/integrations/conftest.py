"""Fixtures for the integration tests: Things data, a daemon context, and a real daemon with the surfaces.

``tests.support.daemon.start_daemon`` serves the token service only; the Things tests need the
integration surfaces too, so ``start_things_daemon`` runs the same ``serve.run`` with ``customize``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from mcp_server.daemon.context import DaemonContext
from mcp_server.daemon.serve import open_context
from mcp_server.integrations.things import Things
from mcp_server.integrations.things.source import local_zone
from mcp_server.settings import load_settings
from tests.support.daemon import RunningDaemon, isolated_env, start_daemon
from tools.things.dates import local_today
from tools.things.sample import SampleDatabase, generate

TODAY = date(2025, 6, 15)
BERLIN = ZoneInfo("Europe/Berlin")


def noon(day: date) -> datetime:
    return datetime.combine(day, time(12), BERLIN).astimezone(UTC)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def env(tmp_path: Path) -> Iterator[dict[str, str]]:
    with isolated_env(tmp_path / "home") as environment:
        yield environment


@pytest.fixture
def daemon_ctx(env: dict[str, str]) -> Iterator[DaemonContext]:
    """The daemon's context (gate, broker, store) without HTTP: what the in-memory MCP tests need."""
    ctx = open_context(load_settings(env=env))
    yield ctx
    ctx.gate.close()
    ctx.authority.audit.close()
    ctx.authority.db.dispose()


@pytest.fixture
def sample(tmp_path: Path) -> SampleDatabase:
    """A fresh sample database dated around ``TODAY`` (tests may write to it)."""
    return generate(tmp_path / "things.sqlite", todos=120, today=TODAY, seed=5)


@dataclass
class ThingsDaemon:
    running: RunningDaemon
    sample: SampleDatabase

    @property
    def url(self) -> str:
        return self.running.url

    @property
    def ctx(self) -> DaemonContext:
        return self.running.ctx

    def token(self, **scopes: str) -> str:
        """An access token with scopes given as ``things_read="allow"`` (``_`` for ``:``)."""
        issued = self.running.create_family({k.replace("_", ":", 1): v for k, v in scopes.items()}, label="test")
        return issued.access_token


def start_things_daemon(env: dict[str, str], overrides: dict[str, Any]) -> RunningDaemon:
    """A daemon with the Things and MCP surfaces, as ``agent-auth serve`` composes them."""
    return start_daemon(env, overrides=overrides, integrations=[Things()])


@pytest.fixture
def things_daemon(env: dict[str, str], tmp_path: Path) -> Iterator[ThingsDaemon]:
    """A real daemon on 127.0.0.1:0 serving a sample database dated today (the daemon's clock is real)."""
    today = local_today(datetime.now(UTC), local_zone())
    sample = generate(tmp_path / "served.sqlite", todos=120, today=today, seed=9)
    running = start_things_daemon(env, {"things_database": sample.path})
    yield ThingsDaemon(running, sample)
    running.stop()
