"""Fixtures for the TUI tests: a real daemon in a background thread, isolated under temporary dirs."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from tui_daemon import DaemonFactory, RunningDaemon


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def daemons(tmp_path: Path) -> Iterator[DaemonFactory]:
    runtime = Path(tempfile.mkdtemp(prefix="aa-tui-", dir="/tmp"))
    factory = DaemonFactory(tmp_path, runtime)
    try:
        yield factory
    finally:
        factory.stop_all()
        shutil.rmtree(runtime, ignore_errors=True)


@pytest.fixture
def daemon(daemons: DaemonFactory) -> RunningDaemon:
    return daemons.start()
