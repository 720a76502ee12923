"""The demo runs on its own sample data and its own HOME on every platform — on a Mac too, where the person's
real Things library would otherwise be discovered and written to through the URL scheme."""

from __future__ import annotations

from pathlib import Path

from mcp_server.cli.demo_cmds import demo_environment
from mcp_server.integrations.things.source import build_source
from mcp_server.settings import load_settings

CONTAINER = "Library/Group Containers/JLMPQHK86H.com.culturedcode.ThingsMac"


def test_the_demo_serves_its_sample_even_beside_a_real_things_library_on_a_mac(tmp_path: Path) -> None:
    person = tmp_path / "person"
    real = person / CONTAINER / "ThingsData-REAL1" / "Things Database.thingsdatabase"
    real.mkdir(parents=True)
    (real / "main.sqlite").write_bytes(b"the person's real library")
    demo_home = tmp_path / "demo"
    env = {"HOME": str(person), "PATH": "/usr/bin:/bin", **demo_environment(demo_home, None)}
    settings = load_settings(env=env)
    assert env["HOME"] == str(demo_home)
    source = build_source(settings.things_database, settings.data_dir, home=Path(env["HOME"]), platform="darwin")
    assert source.sample is True
    assert source.database.is_relative_to(demo_home)
    assert (real / "main.sqlite").read_bytes() == b"the person's real library"
