"""Every path follows the person's homes: GNUPGHOME, AGENT_AUTH_HOME (gpg included), AGENT_AUTH_CONFIG."""

from __future__ import annotations

from pathlib import Path

import pytest

from mcp_server.settings import SettingsError, load_settings


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    return {"HOME": str(tmp_path / "home"), "XDG_CONFIG_HOME": str(tmp_path / "config"), **extra}


def test_gnupghome_from_the_environment_is_the_gpg_home_when_gpg_home_is_unset(tmp_path: Path) -> None:
    settings = load_settings(_env(tmp_path, GNUPGHOME=str(tmp_path / "keys")))
    assert settings.gpg_home == tmp_path / "keys"


def test_gpg_home_setting_wins_over_gnupghome(tmp_path: Path) -> None:
    settings = load_settings(_env(tmp_path, GNUPGHOME=str(tmp_path / "keys"), AGENT_AUTH_GPG_HOME=str(tmp_path / "g")))
    assert settings.gpg_home == tmp_path / "g"


def test_agent_auth_home_with_a_gnupg_folder_keeps_gpg_inside_it(tmp_path: Path) -> None:
    home = tmp_path / "aa"
    (home / "gnupg").mkdir(parents=True)
    settings = load_settings(_env(tmp_path, AGENT_AUTH_HOME=str(home)))
    assert settings.gpg_home == home / "gnupg"


def test_a_missing_agent_auth_config_file_is_an_error_naming_it(tmp_path: Path) -> None:
    missing = tmp_path / "nope.toml"
    with pytest.raises(SettingsError) as raised:
        load_settings(_env(tmp_path, AGENT_AUTH_CONFIG=str(missing)))
    assert str(missing) in str(raised.value)


def test_a_file_where_the_data_directory_should_be_is_one_clear_error_with_exit_4(tmp_path: Path) -> None:
    import subprocess
    import sys

    from cli_test_support import REPO_ROOT

    home = tmp_path / "aa"
    (home / "state").mkdir(parents=True)
    (home / "data").write_text("not a directory")
    env = {"HOME": str(tmp_path), "PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO_ROOT)}
    env |= {"AGENT_AUTH_HOME": str(home), "AGENT_AUTH_KEY_STORE": "file"}

    done = subprocess.run(
        [sys.executable, "-m", "mcp_server.cli.main", "token", "list"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert done.returncode == 4, done.stderr
    assert "Traceback" not in done.stderr
    assert str(home / "data") in done.stderr
