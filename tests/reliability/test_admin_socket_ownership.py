"""The CLI and TUI talk only to an admin socket of their own uid, in a directory only that uid can enter.

The report's case: with a shared ``XDG_RUNTIME_DIR`` another uid created ``agent-auth/admin.sock`` first
and the CLI sent it its requests (and would have shown its answers). Here a fake daemon listens where the
CLI looks, and records whether anything reached it.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
from pathlib import Path

import anyio
import pytest

from auth.admin_client import AdminConnection, AdminError
from tests.support.daemon import isolated_env

AGENT_AUTH = str(Path(sys.executable).parent / "agent-auth")
NOBODY_UID = 65534


class FakeDaemon:
    """Listens on ``path`` and records every byte a client sends."""

    def __init__(self, path: Path) -> None:
        self.received = b""
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(str(path))
        self.sock.listen(8)
        self.sock.settimeout(0.2)
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while not self.stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            with conn:
                conn.settimeout(1)
                try:
                    while data := conn.recv(65536):
                        self.received += data
                        conn.sendall(b'{"id": 1, "result": {"families": []}}\n')
                except (TimeoutError, OSError):
                    pass

    def close(self) -> None:
        self.stop.set()
        self.thread.join(5)
        self.sock.close()


def _cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [AGENT_AUTH, *args], env={**os.environ, **env}, capture_output=True, text=True, timeout=60, check=False
    )


def test_the_cli_refuses_an_admin_socket_in_a_directory_others_can_enter(tmp_path: Path) -> None:
    with isolated_env(tmp_path / "home") as env:
        runtime = Path(env["XDG_RUNTIME_DIR"]) / "agent-auth"
        runtime.mkdir(mode=0o755)
        runtime.chmod(0o755)
        fake = FakeDaemon(runtime / "admin.sock")
        try:
            result = _cli(env, "token", "list")
        finally:
            fake.close()
    assert result.returncode != 0
    assert "not private" in result.stderr
    assert fake.received == b""


@pytest.mark.skipif(os.geteuid() != 0, reason="posing as another uid needs root")
def test_the_cli_refuses_an_admin_socket_another_uid_put_in_a_shared_runtime_dir(tmp_path: Path) -> None:
    with isolated_env(tmp_path / "home") as env:
        shared = Path(env["XDG_RUNTIME_DIR"])
        shared.chmod(0o1777)
        runtime = shared / "agent-auth"
        runtime.mkdir(mode=0o700)
        fake = FakeDaemon(runtime / "admin.sock")
        os.chown(runtime, NOBODY_UID, NOBODY_UID)
        os.chown(runtime / "admin.sock", NOBODY_UID, NOBODY_UID)
        try:
            result = _cli(env, "token", "list")
        finally:
            fake.close()
    assert result.returncode != 0
    assert (
        "admin_socket_untrusted" in result.stderr or "not private" in result.stderr or "not a socket" in result.stderr
    )
    assert fake.received == b""


@pytest.mark.anyio
async def test_the_admin_client_refuses_a_socket_that_is_not_owned_by_its_uid(tmp_path: Path) -> None:
    runtime = tmp_path / "run"
    runtime.mkdir(mode=0o700)
    runtime.chmod(0o700)
    fake = FakeDaemon(runtime / "admin.sock")
    try:
        if os.geteuid() == 0:
            os.chown(runtime / "admin.sock", NOBODY_UID, NOBODY_UID)
        else:
            runtime.chmod(0o750)
        with pytest.raises(AdminError) as refused:
            await AdminConnection.connect(runtime / "admin.sock")
        await anyio.sleep(0)
    finally:
        fake.close()
    assert refused.value.code == "admin_socket_untrusted"
    assert fake.received == b""


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"
