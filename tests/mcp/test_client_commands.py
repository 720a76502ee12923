"""The client side as users run it: ``agent-auth token header``, login, logout, status, mcp-config (subprocesses)."""

from __future__ import annotations

import json
import os
import shlex
import socket
import stat
import subprocess
import time
from pathlib import Path

import anyio
import pytest

from auth.families import IssuedTokens
from mcp_server.client.credentials import Credentials, CredentialStore
from tests.mcp.conftest import StartDaemon
from tests.mcp.mcp_test_support import FAMILY_SCOPES
from tests.support.approvals import admin_subscriber
from tests.support.daemon import RunningDaemon
from tests.support.executables import installed_script

AGENT_AUTH = installed_script("agent-auth")
CLI_TIMEOUT_SECONDS = 30.0


@pytest.fixture
def client_home(tmp_path: Path) -> Path:
    home = tmp_path / "client"
    home.mkdir()
    return home


@pytest.fixture
def client_env(client_home: Path) -> dict[str, str]:
    """A client machine: its own XDG dirs, credentials in a 0600 file, no token in the environment."""
    return {
        "PATH": str(AGENT_AUTH.parent) + ":/usr/bin:/bin",
        "HOME": str(client_home),
        "LANG": "C.UTF-8",
        "XDG_CONFIG_HOME": str(client_home / "config"),
        "XDG_DATA_HOME": str(client_home / "data"),
        "XDG_STATE_HOME": str(client_home / "state"),
        "XDG_RUNTIME_DIR": str(client_home / "run"),
        "AGENT_AUTH_CREDENTIALS_STORE": "file",
        "AGENT_AUTH_KEY_STORE": "file",
    }


@pytest.fixture
def store(client_home: Path) -> CredentialStore:
    return CredentialStore(config_dir=client_home / "config" / "agent-auth", use_keyring=False)


def cli(env: dict[str, str], *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(AGENT_AUTH), *args],
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=CLI_TIMEOUT_SECONDS,
        check=False,
    )


def header_token(stdout: str) -> str:
    headers = json.loads(stdout)
    scheme, _, token = headers["Authorization"].partition(" ")
    assert scheme == "Bearer"
    return token


def save(store: CredentialStore, url: str, issued: IssuedTokens, access_expires_at: float) -> None:
    store.save(Credentials(url, issued.access_token, issued.refresh_token, access_expires_at, issued.family_id, None))


def closed_port_url() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{probe.getsockname()[1]}"


# --- token header ------------------------------------------------------------------------------------------


def test_token_header_refreshes_a_token_near_expiry(
    daemon: RunningDaemon, client_env: dict[str, str], store: CredentialStore
) -> None:
    issued = daemon.create_family(FAMILY_SCOPES)
    save(store, daemon.url, issued, time.time() + 5)

    done = cli(client_env, "token", "header")

    assert done.returncode == 0, done.stderr
    fresh = header_token(done.stdout)
    assert fresh != issued.access_token
    assert daemon.ctx.gate.authenticate(fresh).family_id == issued.family_id
    stored = store.load()
    assert stored is not None
    assert stored.access_token == fresh
    assert stored.refresh_token != issued.refresh_token
    assert stored.access_expires_at > time.time() + 60


@pytest.mark.anyio
async def test_token_header_with_an_expired_refresh_token_reissues_after_approval_on_the_host(
    daemon: RunningDaemon, client_env: dict[str, str], store: CredentialStore
) -> None:
    issued = daemon.create_family(FAMILY_SCOPES, now=time.time() - 3600, access_ttl_seconds=60, refresh_ttl_seconds=120)
    save(store, daemon.url, issued, 0.0)
    outcome: dict[str, subprocess.CompletedProcess[bytes]] = {}

    async def run_header() -> None:
        outcome["done"] = await anyio.run_process([str(AGENT_AUTH), "token", "header"], env=client_env, check=False)

    with anyio.fail_after(CLI_TIMEOUT_SECONDS):
        async with admin_subscriber(daemon.admin_socket) as approver, anyio.create_task_group() as tg:
            tg.start_soon(run_header)
            created = await approver.next_event("approval.created")
            assert created["scope"] == "agent-auth:reissue"
            assert "done" not in outcome  # the command waits for the person
            await approver.decide(created["id"], "approve")

    done = outcome["done"]
    assert done.returncode == 0, done.stderr
    fresh = header_token(done.stdout.decode())
    assert daemon.ctx.gate.authenticate(fresh).family_id == issued.family_id


def test_token_header_with_an_expired_refresh_token_fails_when_the_host_declines(
    start_daemon: StartDaemon, client_env: dict[str, str], store: CredentialStore
) -> None:
    daemon = start_daemon(approval_timeout_seconds=0.3)  # nobody answers: declined by timeout
    issued = daemon.create_family(FAMILY_SCOPES, now=time.time() - 3600, access_ttl_seconds=60, refresh_ttl_seconds=120)
    save(store, daemon.url, issued, 0.0)

    done = cli(client_env, "--json", "token", "header")

    assert done.returncode != 0
    assert done.stdout == ""
    assert json.loads(done.stderr.strip().splitlines()[-1])["error"]["code"] == "reissue_denied"


def test_two_concurrent_token_header_runs_on_an_expiring_token_both_succeed_without_reuse_detection(
    daemon: RunningDaemon, client_env: dict[str, str], store: CredentialStore
) -> None:
    issued = daemon.create_family(FAMILY_SCOPES)
    save(store, daemon.url, issued, time.time() + 5)

    processes = [
        subprocess.Popen(
            [str(AGENT_AUTH), "token", "header"],
            env=client_env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    results = [(p, *p.communicate(timeout=CLI_TIMEOUT_SECONDS)) for p in processes]

    for process, _, stderr in results:
        assert process.returncode == 0, stderr
    tokens = {header_token(stdout) for _, stdout, _ in results}
    assert len(tokens) == 1  # the second run waited for the lock and used the first run's pair
    assert not daemon.ctx.authority.get_family(issued.family_id).revoked
    for token in tokens:
        assert daemon.ctx.gate.authenticate(token).family_id == issued.family_id


def test_token_header_prefers_agent_auth_token_from_the_environment(client_env: dict[str, str]) -> None:
    done = cli({**client_env, "AGENT_AUTH_TOKEN": "aa_from_env"}, "token", "header")
    assert done.returncode == 0, done.stderr
    assert header_token(done.stdout) == "aa_from_env"


def test_token_header_without_credentials_fails_with_not_logged_in(client_env: dict[str, str]) -> None:
    done = cli(client_env, "--json", "token", "header")
    assert done.returncode != 0
    assert done.stdout == ""
    assert json.loads(done.stderr.strip().splitlines()[-1])["error"]["code"] == "not_logged_in"


# --- login, logout, status -----------------------------------------------------------------------------------


@pytest.mark.parametrize("form", ["json", "two-lines"])
def test_login_reads_tokens_from_stdin_and_writes_a_0600_file(
    daemon: RunningDaemon, client_env: dict[str, str], store: CredentialStore, form: str
) -> None:
    issued = daemon.create_family(FAMILY_SCOPES)
    if form == "json":
        stdin = json.dumps(issued.to_json(time.time()))
    else:
        stdin = f"{issued.access_token}\n{issued.refresh_token}\n"

    done = cli(client_env, "login", "--url", daemon.url, stdin=stdin)

    assert done.returncode == 0, done.stderr
    assert issued.access_token not in done.stdout + done.stderr
    assert stat.S_IMODE(os.stat(store.file).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(store.file.parent).st_mode) == 0o700
    stored = store.load()
    assert stored is not None
    assert (stored.server_url, stored.family_id) == (daemon.url, issued.family_id)
    assert (stored.access_token, stored.refresh_token) == (issued.access_token, issued.refresh_token)
    assert stored.access_expires_at > time.time() + 60


def test_login_refuses_input_that_is_not_a_token_pair(daemon: RunningDaemon, client_env: dict[str, str]) -> None:
    done = cli(client_env, "--json", "login", "--url", daemon.url, stdin="just-one-word")
    assert done.returncode != 0
    assert json.loads(done.stderr.strip().splitlines()[-1])["error"]["code"] == "malformed_input"


def test_logout_removes_the_stored_credentials(
    daemon: RunningDaemon, client_env: dict[str, str], store: CredentialStore
) -> None:
    save(store, daemon.url, daemon.create_family(FAMILY_SCOPES), time.time() + 600)

    done = cli(client_env, "--json", "logout")

    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["logged_out"] is True
    assert not store.file.exists()
    assert store.load() is None


def test_status_shows_the_credentials_redacted(
    daemon: RunningDaemon, client_env: dict[str, str], store: CredentialStore
) -> None:
    issued = daemon.create_family(FAMILY_SCOPES)
    save(store, daemon.url, issued, time.time() + 600)

    text = cli(client_env, "status")
    as_json = cli(client_env, "--json", "status")

    assert text.returncode == 0, text.stderr
    assert as_json.returncode == 0, as_json.stderr
    for output in (text.stdout + text.stderr, as_json.stdout + as_json.stderr):
        assert issued.access_token not in output
        assert issued.refresh_token not in output
        assert issued.access_token.rsplit("_", 1)[1] not in output  # not even the signature
    info = json.loads(as_json.stdout)
    assert info["daemon"] == "reachable"
    assert info["family_id"] == issued.family_id
    assert info["access_token"].endswith("…")


# --- mcp-config -----------------------------------------------------------------------------------------------


def test_mcp_config_for_http_uses_token_header_as_headers_helper(client_env: dict[str, str]) -> None:
    done = cli(client_env, "--json", "mcp-config", "--transport", "http", "--url", "http://127.0.0.1:9555")

    assert done.returncode == 0, done.stderr
    entry = json.loads(done.stdout)["mcp_json"]["mcpServers"]["agent-auth"]
    assert entry["type"] == "http"
    assert entry["url"] == "http://127.0.0.1:9555/mcp"
    program, *rest = shlex.split(entry["headersHelper"])
    assert Path(program).is_absolute() and Path(program).name == "agent-auth" and rest == ["token", "header"]
    command = shlex.split(json.loads(done.stdout)["claude_command"])
    assert json.loads(command[-1]) == entry


def test_mcp_config_for_stdio_launches_agent_auth_mcp(client_env: dict[str, str]) -> None:
    done = cli(client_env, "--json", "mcp-config", "--transport", "stdio", "--url", "http://127.0.0.1:9555")

    assert done.returncode == 0, done.stderr
    entry = json.loads(done.stdout)["mcp_json"]["mcpServers"]["agent-auth"]
    assert entry["type"] == "stdio"
    assert Path(entry["command"]).is_absolute() and Path(entry["command"]).name == "agent-auth"
    assert entry["args"] == ["mcp"]
    assert entry["env"]["AGENT_AUTH_URL"] == "http://127.0.0.1:9555"


def test_mcp_config_text_output_contains_a_valid_mcp_json_snippet(client_env: dict[str, str]) -> None:
    done = cli(client_env, "mcp-config", "--url", "http://127.0.0.1:9555")

    assert done.returncode == 0, done.stderr
    start = done.stdout.index("{")
    snippet, _ = json.JSONDecoder().raw_decode(done.stdout[start:])
    assert snippet["mcpServers"]["agent-auth"]["headersHelper"].endswith("agent-auth token header")
