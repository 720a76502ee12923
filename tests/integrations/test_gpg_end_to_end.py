"""Real git signing through the installed ``agent-auth-gpg`` against a real daemon on 127.0.0.1.

git runs the console script as ``gpg.program``; the script calls ``/gpg-bridge/v1/sign|verify`` over HTTP;
the daemon's gate decides (prompt tier: a person approves on the admin socket) and real gpg signs with a
throwaway key.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import pytest

from auth.admin_client import AdminConnection, call_once
from auth.scopes import Tier
from mcp_server.client.credentials import Credentials, CredentialStore
from mcp_server.client.http import request_json
from tests.gpg.gpg_support import commit_payload
from tests.integrations.gpg_fixtures import GpgKeys, gpg_keys, gpg_settings, start_gpg_daemon, token
from tests.support.daemon import RunningDaemon, isolated_env
from tests.support.executables import installed_script

WAIT_SECONDS = 20.0
SHIM = installed_script("agent-auth-gpg")


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="module")
def keys() -> Iterator[GpgKeys]:
    with gpg_keys() as made:
        yield made


@pytest.fixture(scope="module")
def daemon(tmp_path_factory: pytest.TempPathFactory, keys: GpgKeys) -> Iterator[RunningDaemon]:
    with isolated_env(tmp_path_factory.mktemp("daemon")) as env:
        running = start_gpg_daemon(gpg_settings(env, keys, approval_timeout_seconds=15.0))
        try:
            yield running
        finally:
            running.stop()


def git_env(daemon: RunningDaemon, home: Path, access_token: str | None) -> dict[str, str]:
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(home),
        "GIT_CONFIG_NOSYSTEM": "1",
        "XDG_CONFIG_HOME": str(home / "config"),
        "AGENT_AUTH_CREDENTIALS_STORE": "file",
        "AGENT_AUTH_URL": daemon.url,
    }
    if access_token is not None:
        env["AGENT_AUTH_TOKEN"] = access_token
    return env


def make_repo(tmp_path: Path, env: dict[str, str], signing_key: str) -> Path:
    assert SHIM.exists(), f"install the project (pip install -e .) so {SHIM} exists"
    repo = tmp_path / "repo"
    subprocess.run(["git", "init", "-q", str(repo)], env=env, check=True)
    for name, value in [
        ("user.name", "Alice Example"),
        ("user.email", "alice@example.org"),
        ("user.signingkey", signing_key),
        ("gpg.program", str(SHIM)),
    ]:
        subprocess.run(["git", "-C", str(repo), "config", name, value], env=env, check=True)
    (repo / "README").write_text("hello\n")
    subprocess.run(["git", "-C", str(repo), "add", "README"], env=env, check=True)
    return repo


def git(repo: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["git", "-C", str(repo), *args], env=env, capture_output=True, text=True, timeout=60)


def has_commits(repo: Path, env: dict[str, str]) -> bool:
    return git(repo, env, "rev-parse", "--verify", "-q", "HEAD").returncode == 0


def audit(daemon: RunningDaemon, event: str) -> list[dict[str, Any]]:
    lines = daemon.settings.audit_log_path.read_text().splitlines()
    return [entry for entry in map(json.loads, lines) if entry["event"] == event]


def test_git_commit_and_tag_are_signed_through_the_daemon_and_verify(
    daemon: RunningDaemon, keys: GpgKeys, tmp_path: Path
) -> None:
    access = token(daemon.ctx, gpg_sign="allow", gpg_verify="allow")
    env = git_env(daemon, tmp_path, access)
    repo = make_repo(tmp_path, env, keys.alice)
    committed = git(repo, env, "commit", "-S", "-q", "-m", "Signed through agent-auth")
    assert committed.returncode == 0, committed.stderr
    verified = git(repo, env, "verify-commit", "HEAD")
    assert verified.returncode == 0, verified.stderr
    assert "Good signature" in verified.stderr
    tagged = git(repo, env, "tag", "-s", "v1", "-m", "Release one")
    assert tagged.returncode == 0, tagged.stderr
    assert git(repo, env, "verify-tag", "v1").returncode == 0
    assert git(repo, env, "log", "-1", "--format=%G?").stdout.strip() == "G"
    family_id = daemon.ctx.gate.authenticate(access).family_id
    calls = {e["call_id"] for e in audit(daemon, "decision") if e["family_id"] == family_id}
    signed = [e for e in audit(daemon, "call.result") if e["call_id"] in calls and "fingerprint" in e]
    assert [e["result"] for e in signed] == ["ok", "ok"]
    assert 'commit "Signed through agent-auth"' in signed[0]["summary"]
    assert 'tag "v1"' in signed[1]["summary"]


def test_the_shim_uses_stored_credentials_and_refreshes_them(
    daemon: RunningDaemon, keys: GpgKeys, tmp_path: Path
) -> None:
    issued = daemon.ctx.authority.create_family({"gpg:sign": Tier.ALLOW, "gpg:verify": Tier.ALLOW}, label="stored")
    env = git_env(daemon, tmp_path, None)
    store = CredentialStore(config_dir=tmp_path / "config" / "agent-auth", use_keyring=False)
    # Expired as far as the client knows: the shim must refresh before it signs.
    store.save(Credentials(daemon.url, issued.access_token, issued.refresh_token, access_expires_at=0.0))
    repo = make_repo(tmp_path, env, keys.alice)
    committed = git(repo, env, "commit", "-S", "-q", "-m", "Signed with stored credentials")
    assert committed.returncode == 0, committed.stderr
    refreshed = store.load()
    assert refreshed is not None and refreshed.refresh_token != issued.refresh_token
    assert git(repo, env, "verify-commit", "HEAD").returncode == 0


def test_a_key_that_is_not_allowlisted_fails_and_no_commit_is_created(
    daemon: RunningDaemon, keys: GpgKeys, tmp_path: Path
) -> None:
    access = token(daemon.ctx, gpg_sign="prompt")
    env = git_env(daemon, tmp_path, access)
    repo = make_repo(tmp_path, env, keys.mallory)
    history_before = len(daemon.ctx.broker.history)
    committed = git(repo, env, "commit", "-S", "-q", "-m", "Should not be signed")
    assert committed.returncode != 0
    assert "failed to sign" in committed.stderr
    assert not has_commits(repo, env)
    # Refused before any person is asked: a request that cannot succeed never reaches the approval queue.
    assert len(daemon.ctx.broker.history) == history_before and daemon.ctx.broker.pending() == []
    assert audit(daemon, "decision")[-1]["reason"] == "key_not_allowed"


def test_the_rest_bridge_answers_401_without_a_token_and_403_without_the_scope(
    daemon: RunningDaemon, keys: GpgKeys
) -> None:
    body = {"local_user": keys.alice, "payload_b64": base64.b64encode(commit_payload()).decode()}
    anonymous = request_json("POST", f"{daemon.url}/gpg-bridge/v1/sign", body=body)
    assert anonymous.status == 401 and anonymous.error_code == "unauthorized"
    verify_only = token(daemon.ctx, gpg_verify="allow")
    refused = request_json("POST", f"{daemon.url}/gpg-bridge/v1/sign", body=body, bearer=verify_only)
    assert refused.status == 403 and refused.error_code == "scope_denied"
    bad = request_json("POST", f"{daemon.url}/gpg-bridge/v1/sign", body=body, bearer="aa_nope_nope")
    assert bad.status == 401 and bad.error_code == "unauthorized"  # the original gpg-bridge's vocabulary
    signer = token(daemon.ctx, gpg_sign="allow")
    unsupported = request_json("POST", f"{daemon.url}/gpg-bridge/v1/sign", body={**body, "armor": False}, bearer=signer)
    assert unsupported.status == 400 and unsupported.error_code == "unsupported_operation"
    signed = request_json("POST", f"{daemon.url}/gpg-bridge/v1/sign", body=body, bearer=signer)
    assert signed.status == 200 and signed.body["resolved_key_fingerprint"] == keys.alice
    assert "[GNUPG:] SIG_CREATED " in signed.body["status_text"]


async def _commit_while_deciding(
    daemon: RunningDaemon, repo: Path, env: dict[str, str], subject: str, *, approve: bool
) -> tuple[subprocess.CompletedProcess[bytes], dict[str, Any]]:
    """Run ``git commit -S`` and decide its approval on the admin socket; returns git's result and the approval."""
    shown: dict[str, Any] = {}
    result: dict[str, subprocess.CompletedProcess[bytes]] = {}
    events = await AdminConnection.connect(daemon.admin_socket)
    async with events:
        await events.call("subscribe", topics=["approvals"])

        async def commit() -> None:
            result["git"] = await anyio.run_process(
                ["git", "-C", str(repo), "commit", "-S", "-q", "-m", subject], env=env, check=False
            )

        with anyio.fail_after(WAIT_SECONDS):
            async with anyio.create_task_group() as tg:
                tg.start_soon(commit)
                async for event in events.events():
                    if event["event"] == "approval.created":
                        shown.update(event["data"])
                        break
                await call_once(
                    daemon.admin_socket,
                    "approvals.decide",
                    approval_id=shown["id"],
                    decision="approve" if approve else "deny",
                    decided_by="test",
                )
    return result["git"], shown


@pytest.mark.anyio
async def test_a_prompt_tier_commit_waits_for_an_admin_approval_showing_subject_and_author(
    daemon: RunningDaemon, keys: GpgKeys, tmp_path: Path
) -> None:
    access = token(daemon.ctx, label="devcontainer", gpg_sign="prompt", gpg_verify="allow")
    env = git_env(daemon, tmp_path, access)
    repo = make_repo(tmp_path, env, keys.alice)
    committed, approval = await _commit_while_deciding(daemon, repo, env, "Approve me, please", approve=True)
    assert committed.returncode == 0, committed.stderr
    assert approval["scope"] == "gpg:sign" and approval["label"] == "devcontainer"
    rows = {row["label"]: row["value"] for row in approval["details"]}
    assert rows["Subject"] == "Approve me, please" and rows["Author"].startswith("Alice Example <alice@example.org>")
    assert rows["Signing key"] == keys.alice and keys.alice in approval["summary"]
    assert git(repo, env, "verify-commit", "HEAD").returncode == 0


@pytest.mark.anyio
async def test_a_denied_prompt_tier_commit_fails_and_creates_no_commit(
    daemon: RunningDaemon, keys: GpgKeys, tmp_path: Path
) -> None:
    access = token(daemon.ctx, gpg_sign="prompt")
    env = git_env(daemon, tmp_path, access)
    repo = make_repo(tmp_path, env, keys.alice)
    committed, approval = await _commit_while_deciding(daemon, repo, env, "Deny me", approve=False)
    assert {row["label"]: row["value"] for row in approval["details"]}["Subject"] == "Deny me"
    assert committed.returncode != 0
    assert b"failed to sign" in committed.stderr
    assert not has_commits(repo, env)
