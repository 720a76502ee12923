"""Which Things data the daemon serves: never generated sample data in place of a real library on a Mac.

macOS privacy protection (TCC) answers EPERM when a process without Full Disk Access lists or stats another
app's group container. That cannot happen on Linux, so those tests make ``os.scandir`` / ``Path.stat`` answer
exactly as macOS does (``PermissionError(1, 'Operation not permitted')``) — everything else is real files.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import pytest

from mcp_server.integrations.things.source import build_source
from tests.integrations.conftest import BERLIN, TODAY, noon
from tools.things import database as things_database
from tools.things.access import full_disk_access_subject
from tools.things.errors import DatabaseAccessDeniedError, DatabaseNotFoundError, ThingsError
from tools.things.sample import SampleDatabase

CONTAINER = "Library/Group Containers/JLMPQHK86H.com.culturedcode.ThingsMac"
TERMINAL = {"TERM_PROGRAM": "Apple_Terminal", "TERM": "xterm-256color"}


def _source(tmp_path: Path, configured: Path | None, *, platform: str, environ: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
    return build_source(
        configured,
        tmp_path / "data",
        home=tmp_path / "home",
        platform=platform,
        clock=lambda: noon(TODAY),
        tz=BERLIN,
        environ=TERMINAL if environ is None else environ,
        executable="/usr/bin/python3",
    )


def _deny(monkeypatch: pytest.MonkeyPatch, what: str) -> None:
    def refused(*args: object, **kwargs: object) -> None:
        raise PermissionError(1, "Operation not permitted")

    if what == "list":
        monkeypatch.setattr(things_database.os, "scandir", refused)
    else:
        real_stat = Path.stat

        def stat(self: Path, *args: object, **kwargs: object) -> os.stat_result:
            if self.name == "main.sqlite":
                refused()
            return real_stat(self, *args, **kwargs)  # type: ignore[arg-type]

        monkeypatch.setattr(Path, "stat", stat)


@pytest.mark.parametrize("what", ["list", "stat"])
def test_a_mac_without_full_disk_access_gets_an_error_naming_the_program_not_sample_data(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, what: str
) -> None:
    container = tmp_path / "home" / CONTAINER / "ThingsData-ABCDE" / "Things Database.thingsdatabase"
    container.mkdir(parents=True)
    (container / "main.sqlite").write_bytes(b"")
    _deny(monkeypatch, what)
    source = _source(tmp_path, None, platform="darwin")
    assert source.sample is False
    assert not (tmp_path / "data").exists(), "no sample database may be generated"
    assert "UNAVAILABLE" in source.description
    with pytest.raises(DatabaseAccessDeniedError) as caught:
        source.service.list_todos()
    assert caught.value.code == "database_access_denied"
    assert "Full Disk Access to your terminal app, Terminal" in str(caught.value)
    with pytest.raises(ThingsError):  # and no stand-in "confirms" a write into generated data
        source.service.add_todo(title="Pay invoice")


def test_a_mac_without_things_installed_says_so_and_serves_no_sample(tmp_path: Path) -> None:
    source = _source(tmp_path, None, platform="darwin")
    assert source.sample is False
    with pytest.raises(DatabaseNotFoundError) as caught:
        source.service.list_todos()
    assert "not installed" in str(caught.value)
    assert not (tmp_path / "data").exists()


def test_the_sample_is_served_on_a_mac_only_when_asked_for(tmp_path: Path) -> None:
    source = _source(tmp_path, Path("sample"), platform="darwin")
    assert source.sample is True
    assert source.service.list_todos().items


def test_linux_serves_the_sample_but_says_so_loudly(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        source = _source(tmp_path, None, platform="linux")
    assert source.sample is True
    assert "SAMPLE" in source.description
    assert any("only on macOS" in record.getMessage() for record in caplog.records)


def test_a_configured_database_is_served_as_configured(tmp_path: Path, sample: SampleDatabase) -> None:
    source = _source(tmp_path, sample.path, platform="linux")
    assert source.sample is False and source.database == sample.path


def test_the_program_that_needs_access_is_named_from_the_process() -> None:
    assert "iTerm" in full_disk_access_subject({"TERM_PROGRAM": "iTerm.app", "TERM": "xterm"}, "/x/python3")
    launchd = {"XPC_SERVICE_NAME": "dev.agent-auth.daemon", "PATH": "/usr/bin:/bin"}
    subject = full_disk_access_subject(launchd, "/usr/bin/python3")
    assert "interpreter" in subject and os.path.realpath("/usr/bin/python3") in subject
