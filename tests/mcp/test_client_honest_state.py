"""``agent-auth status`` and ``token header`` tell the truth: revoked, expired and unreachable fail with the fix."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from mcp_server.client.credentials import Credentials, CredentialStore
from tests.mcp.mcp_test_support import FAMILY_SCOPES
from tests.mcp.test_client_commands import cli, closed_port_url, header_token, save
from tests.support.daemon import RunningDaemon

EXIT_FAILED = 1
EXIT_UNREACHABLE = 5


@pytest.fixture
def client_env(tmp_path: Path) -> dict[str, str]:
    home = tmp_path / "client"
    home.mkdir()
    from tests.mcp.test_client_commands import AGENT_AUTH

    return {
        "PATH": str(AGENT_AUTH.parent) + ":/usr/bin:/bin",
        "HOME": str(home),
        "LANG": "C.UTF-8",
        "XDG_CONFIG_HOME": str(home / "config"),
        "XDG_DATA_HOME": str(home / "data"),
        "XDG_STATE_HOME": str(home / "state"),
        "XDG_RUNTIME_DIR": str(home / "run"),
        "AGENT_AUTH_CREDENTIALS_STORE": "file",
        "AGENT_AUTH_KEY_STORE": "file",
    }


@pytest.fixture
def store(client_env: dict[str, str]) -> CredentialStore:
    return CredentialStore(config_dir=Path(client_env["XDG_CONFIG_HOME"]) / "agent-auth", use_keyring=False)


def error_code(stderr: str) -> str:
    return str(json.loads(stderr.strip().splitlines()[-1])["error"]["code"])


def test_status_of_a_revoked_login_fails_and_says_to_log_in_again(
    daemon: RunningDaemon, client_env: dict[str, str], store: CredentialStore
) -> None:
    issued = daemon.create_family(FAMILY_SCOPES)
    save(store, daemon.url, issued, time.time() + 600)
    daemon.ctx.authority.revoke_family(issued.family_id, reason="test", actor="test")

    text = cli(client_env, "status")
    as_json = cli(client_env, "--json", "status")

    assert text.returncode == EXIT_FAILED
    assert "revoked" in text.stdout + text.stderr
    assert "agent-auth login" in text.stderr
    assert as_json.returncode == EXIT_FAILED
    assert json.loads(as_json.stdout)["state"] == "revoked"


def test_token_header_refuses_to_hand_out_a_revoked_token(
    daemon: RunningDaemon, client_env: dict[str, str], store: CredentialStore
) -> None:
    issued = daemon.create_family(FAMILY_SCOPES)
    save(store, daemon.url, issued, time.time() + 600)
    daemon.ctx.authority.revoke_family(issued.family_id, reason="test", actor="test")

    done = cli(client_env, "--json", "token", "header")

    assert done.returncode == EXIT_FAILED
    assert done.stdout == ""
    assert error_code(done.stderr) in ("token_revoked", "family_revoked")


def test_status_with_the_daemon_unreachable_exits_5_without_printing_none(
    client_env: dict[str, str], store: CredentialStore
) -> None:
    store.save(Credentials(closed_port_url(), "aa_x_y", "rt_x_y", time.time() + 600, "fam", None))

    done = cli(client_env, "status")

    assert done.returncode == EXIT_UNREACHABLE
    assert "None" not in done.stdout + done.stderr
    assert "agent-auth serve" in done.stderr


def test_token_header_with_the_daemon_unreachable_exits_5(client_env: dict[str, str], store: CredentialStore) -> None:
    store.save(Credentials(closed_port_url(), "aa_x_y", "rt_x_y", time.time() + 600, "fam", None))

    done = cli(client_env, "--json", "token", "header")

    assert done.returncode == EXIT_UNREACHABLE
    assert done.stdout == ""
    assert error_code(done.stderr) == "daemon_unreachable"


def test_status_of_a_login_whose_refresh_token_expired_fails_with_the_fix(
    daemon: RunningDaemon, client_env: dict[str, str], store: CredentialStore
) -> None:
    issued = daemon.create_family(FAMILY_SCOPES, now=time.time() - 3600, access_ttl_seconds=60, refresh_ttl_seconds=60)
    save(store, daemon.url, issued, 0.0)

    done = cli(client_env, "--json", "status")

    assert done.returncode == EXIT_FAILED
    assert json.loads(done.stdout)["state"] == "expired"


def test_status_of_a_healthy_login_exits_0_and_lists_the_scopes(
    daemon: RunningDaemon, client_env: dict[str, str], store: CredentialStore
) -> None:
    issued = daemon.create_family(FAMILY_SCOPES)
    save(store, daemon.url, issued, time.time() + 600)

    done = cli(client_env, "status")

    assert done.returncode == 0, done.stderr
    assert "scopes" in done.stdout
    assert "ca_cert" not in done.stdout


def test_token_header_with_a_healthy_cached_token_prints_it(
    daemon: RunningDaemon, client_env: dict[str, str], store: CredentialStore
) -> None:
    issued = daemon.create_family(FAMILY_SCOPES)
    save(store, daemon.url, issued, time.time() + 600)

    done = cli(client_env, "token", "header")

    assert done.returncode == 0, done.stderr
    assert header_token(done.stdout) == issued.access_token
