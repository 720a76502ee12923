"""A default daemon serving Things and GPG, as the original clients meet it after moving over.

Only what any installation must configure differs from the defaults: where the Things data and the
signing keyring are, and which keys may sign. No compatibility setting is touched (the management routes
get a second daemon, since they stay off by default).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from mcp_server.composition import integrations
from mcp_server.integrations.things.source import local_zone
from tests.compat.original_wire import Wire
from tests.integrations.gpg_fixtures import GpgKeys, gpg_keys, gpg_settings
from tests.support.daemon import RunningDaemon, isolated_env, start_daemon
from tools.things.dates import local_today
from tools.things.sample import SampleDatabase, generate


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="module")
def keys() -> Iterator[GpgKeys]:
    with gpg_keys() as generated:
        yield generated


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> SampleDatabase:
    today = local_today(datetime.now(UTC), local_zone())
    return generate(tmp_path_factory.mktemp("things") / "main.sqlite", todos=120, today=today, seed=9)


def _start(home: Path, keys: GpgKeys, sample: SampleDatabase, **overrides: Any) -> Iterator[RunningDaemon]:
    with isolated_env(home) as env:
        settings = gpg_settings(env, keys, things_database=sample.path, **overrides)
        running = start_daemon(settings=settings, integrations=integrations())
        yield running
        running.stop()


@pytest.fixture(scope="module")
def daemon(tmp_path_factory: pytest.TempPathFactory, keys: GpgKeys, sample: SampleDatabase) -> Iterator[RunningDaemon]:
    yield from _start(tmp_path_factory.mktemp("default"), keys, sample)


@pytest.fixture(scope="module")
def managed_daemon(
    tmp_path_factory: pytest.TempPathFactory, keys: GpgKeys, sample: SampleDatabase
) -> Iterator[RunningDaemon]:
    yield from _start(tmp_path_factory.mktemp("managed"), keys, sample, management_endpoints_enabled=True)


@pytest.fixture
def wire(daemon: RunningDaemon) -> Iterator[Wire]:
    """The original clients' connection; after the test, no error code they do not know may have reached them."""
    connection = Wire(daemon.url)
    yield connection
    assert connection.foreign_codes() == []
