"""Finding and opening the Things database, and the errors when that fails."""

from __future__ import annotations

import logging
import sqlite3
from contextlib import closing
from datetime import date
from pathlib import Path

import pytest

from tests.things.conftest import TODAY, FakeClock, make_service, noon
from tools.things.database import ThingsDatabase, discover_database_path
from tools.things.errors import DatabaseNotFoundError, DatabaseUnreadableError, UnsupportedSchemaError
from tools.things.sample import generate

_CONTAINER = "Library/Group Containers/JLMPQHK86H.com.culturedcode.ThingsMac"
_DB = "Things Database.thingsdatabase/main.sqlite"


def _touch(path: Path) -> Path:
    path.parent.mkdir(parents=True)
    path.write_bytes(b"")
    return path


def test_discovery_finds_the_things_data_folder_of_current_things(tmp_path: Path) -> None:
    expected = _touch(tmp_path / _CONTAINER / "ThingsData-ABC12" / _DB)
    assert discover_database_path(tmp_path) == expected


def test_discovery_falls_back_to_the_location_of_older_things(tmp_path: Path) -> None:
    expected = _touch(tmp_path / _CONTAINER / _DB)
    assert discover_database_path(tmp_path) == expected


def test_an_explicit_path_overrides_discovery(tmp_path: Path) -> None:
    _touch(tmp_path / _CONTAINER / _DB)
    override = _touch(tmp_path / "elsewhere" / "main.sqlite")
    assert discover_database_path(tmp_path, override) == override


def test_missing_database_reports_database_not_found(tmp_path: Path) -> None:
    with pytest.raises(DatabaseNotFoundError) as info:
        discover_database_path(tmp_path)
    assert info.value.code == "database_not_found"
    with pytest.raises(DatabaseNotFoundError):
        discover_database_path(tmp_path, tmp_path / "nope.sqlite")
    with pytest.raises(DatabaseNotFoundError):
        ThingsDatabase(tmp_path / "nope.sqlite").connect()


def test_unopenable_database_reports_unreadable_and_mentions_full_disk_access_and_wal(tmp_path: Path) -> None:
    (tmp_path / "main.sqlite").mkdir()  # a directory: SQLite says "unable to open database file"
    with pytest.raises(DatabaseUnreadableError) as info:
        ThingsDatabase(tmp_path / "main.sqlite").connect()
    assert info.value.code == "database_unreadable"
    message = str(info.value)
    assert "Full Disk Access" in message and "-shm" in message and "WAL" in message


def test_the_connection_is_read_only(tmp_path: Path) -> None:
    sample = generate(tmp_path / "main.sqlite", todos=10, today=TODAY)
    conn = ThingsDatabase(sample.path).connect()
    with pytest.raises(sqlite3.OperationalError, match="readonly"):
        conn.execute("DELETE FROM TMTask")
    conn.close()


def test_a_file_that_is_not_sqlite_is_an_unsupported_schema(tmp_path: Path) -> None:
    path = tmp_path / "main.sqlite"
    path.write_bytes(b"this is not a database" * 100)
    with pytest.raises(UnsupportedSchemaError) as info:
        ThingsDatabase(path).connect()
    assert info.value.code == "unsupported_schema"


def _alter(tmp_path: Path, sql: str) -> Path:
    sample = generate(tmp_path / "main.sqlite", todos=10, today=TODAY)
    with sqlite3.connect(sample.path) as conn:
        conn.executescript(sql)
    conn.close()
    return sample.path


@pytest.mark.parametrize(
    "sql",
    [
        "DROP TABLE TMChecklistItem;",
        "ALTER TABLE TMTask DROP COLUMN startBucket;",
        "DELETE FROM Meta;",
        "UPDATE Meta SET value = '<plist><integer>19</integer></plist>';",
    ],
    ids=["missing table", "missing column", "no version", "too old"],
)
def test_databases_we_cannot_read_correctly_report_unsupported_schema(tmp_path: Path, sql: str) -> None:
    with pytest.raises(UnsupportedSchemaError):
        ThingsDatabase(_alter(tmp_path, sql)).connect()


def test_a_newer_database_version_is_read_with_a_warning(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = _alter(tmp_path, "UPDATE Meta SET value = '<plist><integer>31</integer></plist>';")
    with caplog.at_level(logging.WARNING, logger="tools.things.database"):
        service = make_service(path, FakeClock(noon(date(2025, 6, 15))))
        assert service.list_todos(list="inbox").total > 0
    assert "31" in caplog.text


def test_an_older_things_release_is_refused_with_advice_to_update_things(tmp_path: Path) -> None:
    """An old release lacks newer columns too: the version decides the advice, not the first missing column."""
    path = _alter(
        tmp_path,
        "ALTER TABLE TMTask DROP COLUMN deadlineSuppressionDate;"
        "UPDATE Meta SET value = '<plist><integer>19</integer></plist>';",
    )
    with pytest.raises(UnsupportedSchemaError) as info:
        ThingsDatabase(path).connect()
    assert info.value.code == "unsupported_schema"
    assert "update Things" in str(info.value)
    assert "agent-auth" not in str(info.value)


def test_a_task_table_without_rowids_is_an_unsupported_schema(tmp_path: Path) -> None:
    """Lists are paged by rowid: a release that dropped TMTask's rowid is refused at the check, not mid-read."""
    sample = generate(tmp_path / "main.sqlite", todos=10, today=TODAY)
    with closing(sqlite3.connect(sample.path)) as conn, conn:
        (create,) = conn.execute("SELECT sql FROM sqlite_master WHERE name = 'TMTask'").fetchone()
        conn.execute("ALTER TABLE TMTask RENAME TO TMTaskOld")
        conn.execute(f"{create} WITHOUT ROWID")
        conn.execute("INSERT INTO TMTask SELECT * FROM TMTaskOld")
        conn.execute("DROP TABLE TMTaskOld")
    with pytest.raises(UnsupportedSchemaError) as info:
        ThingsDatabase(sample.path).connect()
    assert info.value.code == "unsupported_schema"
