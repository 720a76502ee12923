"""agent-auth-gpg as a real subprocess, against a bridge on 127.0.0.1 backed by real gpg, driven by real git."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from gpg_support import GpgHome, commit_payload

from mcp_server.integrations.bridge_errors import gpg_bridge_answer
from tools.gpg.bridge import handle_sign, handle_verify
from tools.gpg.service import GpgService

TOKEN = "aa_test_token"


def _handler(service: GpgService) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            body = json.loads(self.rfile.read(length) or b"null")
            if self.headers.get("Authorization") != f"Bearer {TOKEN}":
                status, response = 401, {"error": "unauthorized"}
            elif self.path == "/gpg-bridge/v1/sign":
                status, response = gpg_bridge_answer(lambda: handle_sign(body, service))
            elif self.path == "/gpg-bridge/v1/verify":
                status, response = gpg_bridge_answer(lambda: handle_verify(body, service))
            else:
                status, response = 404, {"error": "not_found"}
            data = json.dumps(response).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: object) -> None:
            pass

    return Handler


@pytest.fixture(scope="module")
def bridge_url(service: GpgService) -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(service))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def _env(bridge_url: str, home: Path, token: str = TOKEN) -> dict[str, str]:
    return {
        "PATH": os.environ["PATH"],
        "HOME": str(home),
        "GIT_CONFIG_NOSYSTEM": "1",
        "AGENT_AUTH_URL": bridge_url,
        "AGENT_AUTH_TOKEN": token,
    }


def _shim(
    argv: list[str], env: dict[str, str], stdin: bytes = b"", cwd: Path | None = None
) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "tools.gpg.shim", *argv], input=stdin, env=env, cwd=cwd, capture_output=True, timeout=30
    )


def test_the_shim_signs_through_the_bridge_and_verifies(bridge_url: str, gpg_home: GpgHome, tmp_path: Path) -> None:
    env = _env(bridge_url, tmp_path)
    signed = _shim(["--status-fd=2", "-bsau", gpg_home.alice], env, commit_payload())
    assert signed.returncode == 0, signed.stderr
    assert signed.stdout.startswith(b"-----BEGIN PGP SIGNATURE-----")
    assert b"\n[GNUPG:] SIG_CREATED " in signed.stderr
    signature = tmp_path / "sig.asc"
    signature.write_bytes(signed.stdout)
    verified = _shim(["--keyid-format=long", "--status-fd=1", "--verify", str(signature), "-"], env, commit_payload())
    assert verified.returncode == 0
    assert b"\n[GNUPG:] GOODSIG " in verified.stdout
    tampered = _shim(["--status-fd=1", "--verify", str(signature), "-"], env, commit_payload("tampered"))
    assert tampered.returncode == 1 and b"[GNUPG:] BADSIG " in tampered.stdout


def test_the_shim_reports_a_refused_key_with_the_bridges_code(
    bridge_url: str, gpg_home: GpgHome, tmp_path: Path
) -> None:
    result = _shim(["--status-fd=2", "-bsau", gpg_home.mallory], _env(bridge_url, tmp_path), commit_payload())
    assert result.returncode == 2 and result.stdout == b""
    assert result.stderr.rstrip().endswith(b"[key_not_allowed]")


def test_the_shim_reports_a_rejected_token(bridge_url: str, gpg_home: GpgHome, tmp_path: Path) -> None:
    env = _env(bridge_url, tmp_path, token="wrong")
    result = _shim(["--status-fd=2", "-bsau", gpg_home.alice], env, commit_payload())
    assert result.returncode == 2 and result.stderr.rstrip().endswith(b"[unauthorized]")


@pytest.fixture
def repo(bridge_url: str, tmp_path: Path) -> tuple[Path, dict[str, str]]:
    wrapper = tmp_path / "agent-auth-gpg"
    wrapper.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m tools.gpg.shim "$@"\n')
    wrapper.chmod(0o755)
    work = tmp_path / "repo"
    env = _env(bridge_url, tmp_path)
    subprocess.run(["git", "init", "-q", str(work)], env=env, check=True)
    for name, value in [
        ("user.name", "Alice Example"),
        ("user.email", "alice@example.org"),
        ("gpg.program", str(wrapper)),
    ]:
        subprocess.run(["git", "-C", str(work), "config", name, value], env=env, check=True)
    return work, env


def _git(repo: tuple[Path, dict[str, str]], *args: str) -> subprocess.CompletedProcess[str]:
    work, env = repo
    return subprocess.run(["git", "-C", str(work), *args], env=env, capture_output=True, text=True, timeout=60)


def test_git_commit_tag_and_verify_work_through_the_shim(repo: tuple[Path, dict[str, str]], gpg_home: GpgHome) -> None:
    assert _git(repo, "config", "user.signingkey", gpg_home.alice).returncode == 0
    committed = _git(repo, "commit", "-q", "-S", "--allow-empty", "-m", "Signed through agent-auth")
    assert committed.returncode == 0, committed.stderr
    assert "gpgsig -----BEGIN PGP SIGNATURE-----" in _git(repo, "cat-file", "commit", "HEAD").stdout
    verified = _git(repo, "verify-commit", "HEAD")
    assert verified.returncode == 0, verified.stderr
    assert _git(repo, "log", "-1", "--format=%G? %GF").stdout.strip() == f"G {gpg_home.alice}"
    tagged = _git(repo, "tag", "-s", "v1.0", "-m", "Release 1.0")
    assert tagged.returncode == 0, tagged.stderr
    assert _git(repo, "verify-tag", "v1.0").returncode == 0


def test_git_signs_with_the_committer_ident_when_no_signing_key_is_set(
    repo: tuple[Path, dict[str, str]], gpg_home: GpgHome
) -> None:
    committed = _git(repo, "commit", "-q", "-S", "--allow-empty", "-m", "Signed by user id")
    assert committed.returncode == 0, committed.stderr
    assert _git(repo, "log", "-1", "--format=%G? %GF").stdout.strip() == f"G {gpg_home.alice}"


def test_git_commit_fails_cleanly_for_a_key_that_is_not_allowed(
    repo: tuple[Path, dict[str, str]], gpg_home: GpgHome
) -> None:
    _git(repo, "config", "user.signingkey", gpg_home.mallory)
    committed = _git(repo, "commit", "-q", "-S", "--allow-empty", "-m", "Should not be signed")
    assert committed.returncode != 0
    # git 2.39 swallows the program's stderr on failure; the shim's own message is tested above.
    assert "gpg failed to sign the data" in committed.stderr
    assert _git(repo, "rev-parse", "--verify", "-q", "HEAD").returncode != 0


def test_setup_configures_the_current_repository(repo: tuple[Path, dict[str, str]], gpg_home: GpgHome) -> None:
    work, env = repo
    result = _shim(["--setup", "--signing-key", gpg_home.alice.lower()], env, cwd=work)
    assert result.returncode == 0, result.stderr
    assert _git(repo, "config", "gpg.program").stdout.strip() == "agent-auth-gpg"
    assert _git(repo, "config", "commit.gpgsign").stdout.strip() == "true"
    assert _git(repo, "config", "user.signingkey").stdout.strip() == gpg_home.alice


def test_setup_refuses_a_short_key_id(repo: tuple[Path, dict[str, str]], gpg_home: GpgHome) -> None:
    work, env = repo
    result = _shim(["--setup", "--signing-key", gpg_home.alice[-8:]], env, cwd=work)
    assert result.returncode == 2 and result.stderr.rstrip().endswith(b"[short_key_id]")
