"""``agent-auth doctor`` against real parts: a daemon, a tampered audit log, real gpg, a revoked login."""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from cli_test_support import CLI_TIMEOUT_SECONDS, REPO_ROOT

from mcp_server.client.credentials import Credentials, CredentialStore
from tests.support.daemon import RunningDaemon, isolated_env, start_daemon


def doctor(env: dict[str, str]) -> tuple[int, dict[str, dict[str, str]]]:
    done = subprocess.run(
        [sys.executable, "-m", "mcp_server.cli.main", "--json", "doctor"],
        env={**env, "PYTHONPATH": str(REPO_ROOT), "PATH": "/usr/bin:/bin", "AGENT_AUTH_CREDENTIALS_STORE": "file"},
        capture_output=True,
        text=True,
        timeout=CLI_TIMEOUT_SECONDS,
        check=False,
    )
    assert "Traceback" not in done.stderr, done.stderr
    report = json.loads(done.stdout)
    return done.returncode, {c["name"]: c for c in report["checks"]}


@pytest.fixture
def env(tmp_path: Path) -> Iterator[dict[str, str]]:
    with isolated_env(tmp_path) as environment:
        yield environment


@pytest.fixture
def daemon(env: dict[str, str]) -> Iterator[RunningDaemon]:
    running = start_daemon(env)
    yield running
    running.stop()


def test_every_check_is_reported_and_every_failure_or_warning_names_a_fix(
    daemon: RunningDaemon, env: dict[str, str]
) -> None:
    code, checks = doctor(env)

    expected = {
        "daemon", "key store", "token store", "audit log", "Things database", "gpg", "git signing",
        "client credentials", "service",
    }  # fmt: skip
    assert expected <= set(checks)
    assert checks["daemon"]["status"] == "ok"
    assert daemon.url in checks["daemon"]["detail"]
    assert checks["token store"]["status"] == "ok"
    assert checks["audit log"]["status"] == "ok"
    for check in checks.values():
        assert check["status"] in ("ok", "warning", "error")
        if check["status"] != "ok":
            assert check["fix"], check
    assert code == (1 if any(c["status"] == "error" for c in checks.values()) else 0)


def test_a_revoked_client_login_is_an_error_with_the_fix(daemon: RunningDaemon, env: dict[str, str]) -> None:
    issued = daemon.create_family({"things:read": "allow"})
    store = CredentialStore(config_dir=Path(env["XDG_CONFIG_HOME"]) / "agent-auth", use_keyring=False)
    store.save(Credentials(daemon.url, issued.access_token, issued.refresh_token, 9e9, issued.family_id))
    daemon.ctx.authority.revoke_family(issued.family_id, reason="test", actor="test")

    code, checks = doctor(env)

    assert code == 1
    assert checks["client credentials"]["status"] == "error"
    assert "agent-auth login" in checks["client credentials"]["fix"]


def test_no_daemon_and_a_tampered_audit_log_are_errors(daemon: RunningDaemon, env: dict[str, str]) -> None:
    daemon.create_family({"things:read": "allow"})
    daemon.stop()
    log = daemon.settings.audit_log_path
    log.write_bytes(log.read_bytes().replace(b"things:read", b"things:reed"))

    code, checks = doctor(env)

    assert code == 1
    assert checks["daemon"]["status"] == "error"
    assert checks["audit log"]["status"] == "error"


def _gnupghome_with_a_key() -> tuple[Path, str]:
    home = Path(tempfile.mkdtemp(prefix="aag", dir="/tmp"))
    gpg_env = {"GNUPGHOME": str(home), "PATH": "/usr/bin:/bin"}
    subprocess.run(
        ["gpg", "--batch", "--passphrase", "", "--quick-gen-key", "t <t@example.invalid>", "ed25519", "sign", "never"],
        env=gpg_env,
        capture_output=True,
        check=True,
        timeout=CLI_TIMEOUT_SECONDS,
    )
    out = subprocess.run(
        ["gpg", "--batch", "--with-colons", "--list-secret-keys"],
        env=gpg_env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return home, next(line.split(":")[9] for line in out.splitlines() if line.startswith("fpr:"))


def test_allowlisted_keys_are_looked_up_in_the_gnupghome_that_will_sign(env: dict[str, str]) -> None:
    gnupghome, fingerprint = _gnupghome_with_a_key()
    try:
        _, present = doctor({**env, "GNUPGHOME": str(gnupghome), "AGENT_AUTH_GPG_ALLOWED_KEYS": fingerprint})
        _, missing = doctor({**env, "GNUPGHOME": str(gnupghome), "AGENT_AUTH_GPG_ALLOWED_KEYS": "A" * 40})
    finally:
        subprocess.run(["gpgconf", "--homedir", str(gnupghome), "--kill", "gpg-agent"], check=False)
    assert present["allowlisted keys"]["status"] == "ok"
    assert missing["allowlisted keys"]["status"] == "error"
    assert "A" * 40 in missing["allowlisted keys"]["detail"]
