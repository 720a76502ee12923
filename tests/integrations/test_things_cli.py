"""``things-cli`` end to end against a real daemon: env tokens, stored credentials with refresh, errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from mcp_server import things_cli
from mcp_server.client.credentials import Credentials, CredentialStore
from tests.integrations.conftest import ThingsDaemon

RUN_TIMEOUT_SECONDS = 30.0


def run_cli(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mcp_server.things_cli", *args],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT_SECONDS,
        check=False,
    )


def test_todos_list_json_works_against_the_daemon_with_an_env_token(things_daemon: ThingsDaemon) -> None:
    token = things_daemon.token(things_read="allow")
    done = run_cli(["todos", "list", "--json"], {"AGENT_AUTH_URL": things_daemon.url, "AGENT_AUTH_TOKEN": token})
    assert done.returncode == 0, done.stderr
    body = json.loads(done.stdout)
    assert body["total"] == len(body["todos"]) > 0
    assert "Buy milk" in {t["name"] for t in body["todos"]}


def test_stored_credentials_are_refreshed_when_the_access_token_expired(
    things_daemon: ThingsDaemon, tmp_path: Path
) -> None:
    issued = things_daemon.running.create_family({"things:read": "allow"})
    config = tmp_path / "client-config"
    store = CredentialStore(config_dir=config / "agent-auth", use_keyring=False)
    store.save(Credentials(things_daemon.url, issued.access_token, issued.refresh_token, access_expires_at=0.0))
    env = {"XDG_CONFIG_HOME": str(config), "AGENT_AUTH_CREDENTIALS_STORE": "file"}
    env.update({"AGENT_AUTH_TOKEN": "", "AGENT_AUTH_URL": ""})
    done = run_cli(["--json", "todos", "list", "--list", "inbox"], env)
    assert done.returncode == 0, done.stderr
    assert "Buy milk" in {t["name"] for t in json.loads(done.stdout)["todos"]}
    refreshed = store.load()
    assert refreshed is not None and refreshed.refresh_token != issued.refresh_token
    assert refreshed.access_expires_at > time.time()


def test_human_output_lists_and_shows_items(
    things_daemon: ThingsDaemon, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("AGENT_AUTH_URL", things_daemon.url)
    monkeypatch.setenv("AGENT_AUTH_TOKEN", things_daemon.token(things_read="allow"))
    ids = things_daemon.sample.ids
    assert things_cli.main(["todos", "list", "--tag", "money"]) == 0
    assert things_cli.main(["todos", "show", ids["Pay rent"]]) == 0
    assert things_cli.main(["projects", "show", ids["Launch website"]]) == 0
    assert things_cli.main(["areas", "list"]) == 0
    out = capsys.readouterr().out
    assert "Pay rent" in out and "tags:               money" in out.replace("Important, ", "")
    assert "name:               Launch website" in out
    assert "Work" in out


@pytest.mark.parametrize(
    ("args", "scopes", "exit_code"),
    [
        (["todos", "show", "AAAAAAAAAAAAAAAAAAAAAA"], {"things_read": "allow"}, things_cli.EXIT_NOT_FOUND),
        (["todos", "list", "--list", "tomorrow"], {"things_read": "allow"}, things_cli.EXIT_USAGE),
        (["areas", "list"], {"things_write": "allow"}, things_cli.EXIT_FORBIDDEN),
        (["projects", "list"], None, things_cli.EXIT_AUTH),
    ],
)
def test_failures_exit_with_the_documented_codes(
    things_daemon: ThingsDaemon,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    args: list[str],
    scopes: dict[str, str] | None,
    exit_code: int,
) -> None:
    monkeypatch.setenv("AGENT_AUTH_URL", things_daemon.url)
    monkeypatch.setenv("AGENT_AUTH_TOKEN", things_daemon.token(**scopes) if scopes else "aa_forged_0000")
    assert things_cli.main(args) == exit_code
    assert capsys.readouterr().err.startswith("things-cli: ")


def test_an_unreachable_daemon_exits_5_with_a_hint(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("AGENT_AUTH_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("AGENT_AUTH_TOKEN", "aa_x_y")
    assert things_cli.main(["areas", "list"]) == things_cli.EXIT_UNAVAILABLE
    assert "agent-auth serve" in capsys.readouterr().err


def test_no_credentials_at_all_exits_2_and_says_how_to_log_in(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("AGENT_AUTH_TOKEN", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    monkeypatch.setenv("AGENT_AUTH_CREDENTIALS_STORE", "file")
    assert things_cli.main(["todos", "list"]) == things_cli.EXIT_AUTH
    assert "agent-auth login" in capsys.readouterr().err


def test_control_characters_in_task_text_never_reach_the_terminal() -> None:
    assert things_cli._clean("evil\x1b[2Jtitle\r\n", 40) == "evil␛[2Jtitle␍␊"


def test_logbook_over_a_period_and_projects_by_list(things_daemon: ThingsDaemon) -> None:
    env = {"AGENT_AUTH_URL": things_daemon.url, "AGENT_AUTH_TOKEN": things_daemon.token(things_read="allow")}
    everything = json.loads(run_cli(["todos", "list", "--list", "logbook", "--json"], env).stdout)
    done = run_cli(["todos", "list", "--list", "logbook", "--completed-after", "2000-01-01", "--json"], env)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["total"] == everything["total"]
    later = run_cli(["todos", "list", "--list", "logbook", "--completed-after", "2999-01-01", "--json"], env)
    assert json.loads(later.stdout)["total"] == 0
    someday = run_cli(["projects", "list", "--list", "someday", "--json"], env)
    assert someday.returncode == 0, someday.stderr
    assert "Write a novel" in [p["name"] for p in json.loads(someday.stdout)["projects"]]
