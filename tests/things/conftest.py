"""Shared fixtures: generated sample databases, a fixed clock and services over them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, tzinfo
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from tools.things.database import ThingsDatabase
from tools.things.double import SampleDatabaseThingsApp
from tools.things.ratelimit import ItemRateLimiter
from tools.things.sample import SampleDatabase, generate
from tools.things.service import ThingsService
from tools.things.snapshot import ListSnapshots
from tools.things.writes import ThingsWriter

TODAY = date(2025, 6, 15)
BERLIN = ZoneInfo("Europe/Berlin")


@dataclass
class FakeClock:
    """Wall clock and monotonic clock the test moves by hand."""

    now: datetime
    monotonic_seconds: float = 1000.0

    def __call__(self) -> datetime:
        return self.now

    def monotonic(self) -> float:
        return self.monotonic_seconds


def noon(day: date, tz: tzinfo = BERLIN) -> datetime:
    return datetime.combine(day, time(12), tz).astimezone(UTC)


def make_service(path: Path, clock: Callable[[], datetime], tz: tzinfo = BERLIN) -> ThingsService:
    database = ThingsDatabase(path)
    return ThingsService(database.connect, None, clock, tz, snapshots=ListSnapshots(database.stamp))


@dataclass
class WritableThings:
    sample: SampleDatabase
    service: ThingsService
    app: SampleDatabaseThingsApp
    clock: FakeClock
    sleeps: list[float]


@pytest.fixture(scope="session")
def sample_db(tmp_path_factory: pytest.TempPathFactory) -> SampleDatabase:
    """A 600-to-do sample shared by read-only tests (never written to)."""
    return generate(tmp_path_factory.mktemp("things") / "main.sqlite", todos=600, today=TODAY, seed=7)


@pytest.fixture
def service(sample_db: SampleDatabase) -> ThingsService:
    return make_service(sample_db.path, FakeClock(noon(TODAY)))


@pytest.fixture
def writable(tmp_path: Path) -> WritableThings:
    """A fresh small sample with a service whose writes go to the Linux Things double."""
    sample = generate(tmp_path / "main.sqlite", todos=60, today=TODAY, seed=3)
    clock = FakeClock(noon(TODAY))
    app = SampleDatabaseThingsApp(sample.path, clock, BERLIN)
    sleeps: list[float] = []
    writer = ThingsWriter(app, ItemRateLimiter(clock.monotonic), sleep=sleeps.append, confirm_attempts=3)
    database = ThingsDatabase(sample.path)
    service = ThingsService(database.connect, writer, clock, BERLIN, snapshots=ListSnapshots(database.stamp))
    return WritableThings(sample=sample, service=service, app=app, clock=clock, sleeps=sleeps)
