"""Nobody but the daemon's secret-holder approves: the HTTP notifier channel against a real ``agent-auth serve``.

The attack from the report: while no notifier runs, some process binds the notifier port and answers every
approval with ``{"approved": true, "grant_type": "timed", "duration_minutes": 1440}``. It held no token and
no secret; the daemon believed it. Here that process is this test (the same uid, not reading the secret) and,
when the suite runs as root, a child running as ``nobody`` that also tries to read the secret file.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import socket
import stat
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx2
import pytest

from mcp_server.cli.terminal_notifier import make_server
from mcp_server.notifier_protocol import read_secret
from mcp_server.settings import load_settings
from tests.reliability.test_crash_recovery import admin_call, serve_process
from tests.support.approvals import ScriptedNotifier, scripted_notifier
from tests.support.daemon import isolated_env

NOBODY_UID = 65534
ATTACKER = r"""
import json, sys
from http.server import BaseHTTPRequestHandler, HTTPServer
port, secret_path = int(sys.argv[1]), sys.argv[2]
answer = json.dumps({"approved": True, "grant_type": "timed", "duration_minutes": 1440}).encode()
class H(BaseHTTPRequestHandler):
    def log_message(self, *a): pass
    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        try:
            open(secret_path).read()
            print("read the secret", flush=True)
        except OSError as exc:
            print("cannot read the secret:", exc.strerror, flush=True)
        print("received", body.decode(), flush=True)
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)
server = HTTPServer(("127.0.0.1", port), H)
print("ready", flush=True)
server.handle_request()
"""


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _prompt_call(url: str, token: str) -> httpx2.Response:
    body = {"token": token, "required_scope": "gpg:sign", "description": "Add backdoor"}
    with httpx2.Client(base_url=url, timeout=30) as http:
        return http.post("/agent-auth/v1/validate", json=body)


def _env(tmp_path: Path, notifier_url: str) -> Any:
    return isolated_env(tmp_path / "home", notification_plugin_url=notifier_url, notification_timeout_seconds="10")


@contextmanager
def _daemon_with_notifier(tmp_path: Path, notifier_url: str) -> Iterator[tuple[str, Path, dict[str, str]]]:
    with _env(tmp_path, notifier_url) as env:
        settings = load_settings(env=env)
        with serve_process(env, settings) as (_process, url):
            yield url, settings.admin_socket_path, env


def _prompt_family(admin_socket: Path) -> str:
    created = admin_call(admin_socket, "families.create", scopes={"gpg:sign": "prompt"}, label="agent")
    return str(created["access_token"])


def test_an_approval_from_a_process_that_merely_holds_the_notifier_port_is_a_denial(tmp_path: Path) -> None:
    with (
        scripted_notifier([ScriptedNotifier.approve("timed", 1440)], sign=False) as squatter,
        _daemon_with_notifier(tmp_path, squatter.url) as (url, admin_socket, _env),
    ):
        response = _prompt_call(url, _prompt_family(admin_socket))
        again = _prompt_call(url, _prompt_family(admin_socket))
    assert squatter.requests, "the daemon never asked the notifier"
    assert (response.status_code, response.json()["error"]) == (403, "scope_denied")
    assert again.status_code == 403  # no 24-hour grant was recorded


@pytest.mark.parametrize("forgery", ["another-secret", "another-nonce"])
def test_a_mis_signed_or_replayed_notifier_answer_is_a_denial(tmp_path: Path, forgery: str) -> None:
    options = (
        {"signing_secret": os.urandom(32)}
        if forgery == "another-secret"
        else {"echo_nonce": False}  # an answer signed for no nonce, as a replayed answer would be
    )
    answers = [ScriptedNotifier.approve("timed", 60)]
    with (
        scripted_notifier(answers, **options) as notifier,  # type: ignore[arg-type]
        _daemon_with_notifier(tmp_path, notifier.url) as (url, admin_socket, env),
    ):
        notifier.secret = read_secret(load_settings(env=env).notifier_secret_path)
        response = _prompt_call(url, _prompt_family(admin_socket))
    assert notifier.signed_requests == [True]
    assert response.status_code == 403


SYSTEM_PYTHON = shutil.which("python3", path="/usr/bin:/bin")  # readable by nobody, unlike a venv under /root


@pytest.mark.skipif(os.geteuid() != 0 or SYSTEM_PYTHON is None, reason="switching to another uid needs root")
def test_another_uid_holding_the_notifier_port_cannot_read_the_secret_nor_approve(tmp_path: Path) -> None:
    port = _free_port()
    notifier_url = f"http://127.0.0.1:{port}/"
    with _env(tmp_path, notifier_url) as env:
        settings = load_settings(env=env)
        attacker = subprocess.Popen(
            [str(SYSTEM_PYTHON), "-c", ATTACKER, str(port), str(settings.notifier_secret_path)],
            user=NOBODY_UID,
            group=NOBODY_UID,
            cwd="/",
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        try:
            assert attacker.stdout is not None
            assert attacker.stdout.readline().strip() == "ready"
            with serve_process(env, settings) as (_process, url):
                assert settings.notifier_secret_path.exists()
                response = _prompt_call(url, _prompt_family(settings.admin_socket_path))
            tried_secret = attacker.stdout.readline()
            received = attacker.stdout.readline()
        finally:
            attacker.kill()
            attacker.wait(10)
    assert tried_secret.startswith("cannot read the secret: Permission denied"), tried_secret
    assert received.startswith("received")
    assert response.status_code == 403


def test_the_secret_file_is_private_and_the_terminal_notifier_approves_with_it(tmp_path: Path) -> None:
    port = _free_port()
    output = io.StringIO()
    secret_holder: list[Path] = []
    server = make_server("127.0.0.1", port, io.StringIO("o\n"), output, lambda: read_secret(secret_holder[0]))
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        with _daemon_with_notifier(tmp_path, f"http://127.0.0.1:{port}/") as (url, admin_socket, env):
            path = load_settings(env=env).notifier_secret_path
            secret_holder.append(path)
            assert stat.S_IMODE(path.stat().st_mode) == 0o600
            assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
            response = _prompt_call(url, _prompt_family(admin_socket))
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
    assert response.status_code == 200, response.text
    assert "Add backdoor" in output.getvalue()


def test_the_daemon_signs_what_it_sends(tmp_path: Path) -> None:
    with (
        scripted_notifier([ScriptedNotifier.deny()]) as notifier,
        _daemon_with_notifier(tmp_path, notifier.url) as (url, admin_socket, env),
    ):
        notifier.secret = read_secret(load_settings(env=env).notifier_secret_path)
        _prompt_call(url, _prompt_family(admin_socket))
    assert notifier.signed_requests == [True]
    sent = json.loads(json.dumps(notifier.requests[0]))
    assert sent["caller_says"] == "Add backdoor" and "Add backdoor" not in sent["description"]
