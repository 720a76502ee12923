"""The sample database generator."""

from __future__ import annotations

import sqlite3
import stat
from pathlib import Path

import pytest

from tests.things.conftest import TODAY
from tools.things.sample import generate, main


def _rows(path: Path) -> list[tuple[object, ...]]:
    with sqlite3.connect(path) as conn:
        rows = conn.execute('SELECT uuid, title, start, startDate, status FROM TMTask ORDER BY "index"').fetchall()
    conn.close()
    return rows


def test_the_same_seed_gives_the_same_items_but_a_fresh_token(tmp_path: Path) -> None:
    a = generate(tmp_path / "a.sqlite", todos=80, today=TODAY, seed=5)
    b = generate(tmp_path / "b.sqlite", todos=80, today=TODAY, seed=5)
    assert _rows(a.path) == _rows(b.path)
    assert a.auth_token.reveal() != b.auth_token.reveal()
    assert _rows(generate(tmp_path / "c.sqlite", todos=80, today=TODAY, seed=6).path) != _rows(a.path)


def test_the_file_is_private_to_the_user(tmp_path: Path) -> None:
    sample = generate(tmp_path / "main.sqlite", todos=10, today=TODAY)
    assert stat.S_IMODE(sample.path.stat().st_mode) == 0o600


def test_the_requested_number_of_to_dos_is_written(tmp_path: Path) -> None:
    sample = generate(tmp_path / "main.sqlite", todos=300, today=TODAY)
    with sqlite3.connect(sample.path) as conn:
        count = conn.execute("SELECT COUNT(*) FROM TMTask WHERE type = 0").fetchone()[0]
    conn.close()
    assert count == sample.todo_count == 300


def test_the_command_line_writes_a_database_and_refuses_to_overwrite(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "cli.sqlite"
    assert main([str(path), "--todos", "40", "--today", "2025-01-31", "--seed", "2"]) == 0
    assert path.exists() and "40 to-dos" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main([str(path)])
