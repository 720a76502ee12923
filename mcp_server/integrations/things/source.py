"""Which Things data the daemon serves: a configured database, the Mac's own library, or a generated sample.

The ``ThingsService`` is built once from settings: a configured database, else the real Things database on
macOS, else (Linux, CI, a Mac without Things) a generated sample database whose writes are applied by the
Linux stand-in for the Things app. On a Mac a library that cannot be read is never replaced by sample data.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from tools.things import (
    DatabaseError,
    ItemRateLimiter,
    MacUrlOpener,
    SampleDatabaseThingsApp,
    ThingsDatabase,
    ThingsService,
    ThingsWriter,
    UrlOpener,
    discover_database_path,
)
from tools.things.access import full_disk_access_advice
from tools.things.dates import local_today
from tools.things.sample import generate
from tools.things.snapshot import ListSnapshots

log = logging.getLogger(__name__)

SAMPLE_DATABASE_NAME = "things-sample.sqlite"
SAMPLE_TODO_COUNT = 200

Clock = Callable[[], datetime]


# --- building the service ----------------------------------------------------------------------


def local_zone() -> tzinfo:
    """The host's time zone, as a DST-aware zone where it can be named, else today's fixed offset."""
    names = [os.environ.get("TZ", "").lstrip(":")]
    try:
        target = os.readlink("/etc/localtime")
        names.append(target.split("zoneinfo/", 1)[1] if "zoneinfo/" in target else "")
    except OSError:
        pass
    for name in names:
        if name:
            try:
                return ZoneInfo(name)
            except (ZoneInfoNotFoundError, ValueError):
                continue
    fallback = datetime.now().astimezone().tzinfo
    return fallback if fallback is not None else UTC


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class ThingsSource:
    """The service the daemon serves and a one-line description of its data, for the start banner."""

    service: ThingsService
    database: Path
    description: str
    sample: bool


def _service(database: ThingsDatabase, writer: ThingsWriter, clock: Clock, zone: tzinfo) -> ThingsService:
    """Paging through a list slices one snapshot of it, valid until the database changes."""
    return ThingsService(database.connect, writer, clock, zone, snapshots=ListSnapshots(database.stamp))


def _writer(opener: UrlOpener) -> ThingsWriter:
    return ThingsWriter(opener, ItemRateLimiter(time.monotonic), sleep=time.sleep)


SAMPLE_KEYWORD = "sample"


def wants_sample(things_database: Path | None) -> bool:
    """``things_database = "sample"``: the person asked for the generated sample database."""
    return things_database is not None and str(things_database) == SAMPLE_KEYWORD


def build_source(
    things_database: Path | None,
    data_dir: Path,
    *,
    home: Path | None = None,
    platform: str = sys.platform,
    clock: Clock = _now,
    tz: tzinfo | None = None,
    environ: Mapping[str, str] | None = None,
    executable: str = sys.executable,
) -> ThingsSource:
    """Pick the Things data to serve: the configured path, the Mac's database, or — only when asked for, or
    where Things cannot exist — a generated sample.

    On a Mac, a Things library that cannot be found or read is never replaced by sample data: the daemon
    serves, and every Things call answers with the reason (for example which program needs Full Disk Access).
    """
    zone = tz or local_zone()
    on_mac = platform == "darwin"
    if wants_sample(things_database):
        return _sample_source(data_dir, clock, zone, 'asked for with things_database = "sample"')
    if things_database is None and not on_mac:
        log.warning(
            "Things 3 exists only on macOS: serving a generated SAMPLE database, not anyone's real to-dos "
            '(set things_database = "sample" to silence this, or a path to serve a real database)'
        )
        return _sample_source(data_dir, clock, zone, f"Things 3 does not run on {platform}")
    advice = full_disk_access_advice(os.environ if environ is None else environ, executable) if on_mac else ""
    try:
        path = discover_database_path(home or Path.home(), things_database, access_advice=advice)
    except DatabaseError as exc:
        # Serve anyway (GPG and the token service do not depend on Things): every Things call answers with
        # the reason, and the startup banner says it.
        log.error("Things data unavailable: %s", exc)
        failed = exc

        def refuse() -> sqlite3.Connection:
            raise failed

        where = things_database or Path.home()
        text = f"Things data: UNAVAILABLE ({failed.code}): {failed}"
        return ThingsSource(ThingsService(refuse, None, clock, zone), where, text, sample=False)
    # On Linux a configured database can only be a copy or a sample: the stand-in applies writes.
    opener: UrlOpener = MacUrlOpener() if on_mac else SampleDatabaseThingsApp(path, clock, zone)
    service = _service(ThingsDatabase(path), _writer(opener), clock, zone)
    origin = "configured" if things_database is not None else "Things 3"
    writes = "" if on_mac else ", writes applied by the Linux stand-in for Things"
    return ThingsSource(service, path, f"Things data: {path} ({origin}{writes})", sample=False)


def _sample_source(data_dir: Path, clock: Clock, zone: tzinfo, why: str) -> ThingsSource:
    path = data_dir / SAMPLE_DATABASE_NAME
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        generate(path, todos=SAMPLE_TODO_COUNT, today=local_today(clock(), zone))
    app = SampleDatabaseThingsApp(path, clock, zone)
    service = _service(ThingsDatabase(path), _writer(app), clock, zone)
    text = f"Things data: SAMPLE database {path} ({why}; delete the file to regenerate)"
    return ThingsSource(service, path, text, sample=True)
