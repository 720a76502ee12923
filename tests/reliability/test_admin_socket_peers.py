"""The admin socket lets in only the daemon's own uid, and the admin API is never reachable over TCP."""

from __future__ import annotations

import errno
import json
import os
import socket
import stat
import tempfile
from pathlib import Path
from typing import Any

import anyio
import httpx2
import pytest

from mcp_server.daemon.admin_socket import AdminServer, PeerRefusedError, check_peer, peer_uid
from mcp_server.daemon.serve import open_context
from mcp_server.settings import load_settings
from tests.support.daemon import RunningDaemon
from tests.support.platform import listening_tcp_ports_of_this_process


def test_check_peer_refuses_any_other_uid() -> None:
    me = os.getuid()
    check_peer(me, me)
    for other in (me + 1, 0 if me else 1, 65534, -1, 2**31 - 1):
        if other != me:
            with pytest.raises(PeerRefusedError):
                check_peer(other, me)


def test_peer_uid_reads_the_kernel_credentials_of_a_real_connection() -> None:
    left, right = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    with left, right:
        assert peer_uid(left) == os.getuid()


@pytest.mark.anyio
async def test_a_connection_from_another_uid_is_refused_before_any_method_runs(daemon_env: dict[str, str]) -> None:
    """A real AdminServer whose ``uid_of`` reports a foreign uid: ``peer_refused``, then the socket closes."""
    ctx = open_context(load_settings(env=daemon_env))
    path = Path(tempfile.mkdtemp(prefix="aa-peer-")) / "admin.sock"
    families_before = len(ctx.authority.list_families())
    server = AdminServer(ctx, path, uid_of=lambda _sock: os.getuid() + 1)
    try:
        async with anyio.create_task_group() as tg:
            await tg.start(server.serve)
            with anyio.fail_after(10):
                stream = await anyio.connect_unix(str(path))
                async with stream:
                    request = {"id": 1, "method": "families.create", "params": {"scopes": {"things:read": "allow"}}}
                    await stream.send(json.dumps(request).encode() + b"\n")
                    received = b""
                    with pytest.raises((anyio.EndOfStream, anyio.BrokenResourceError, ConnectionResetError)):
                        while True:
                            received += await stream.receive()
            tg.cancel_scope.cancel()
    finally:
        ctx.gate.close()
        ctx.authority.audit.close()
        ctx.authority.db.dispose()
    answer = json.loads(received.splitlines()[0])
    assert answer["error"]["code"] == "peer_refused"
    assert len(received.splitlines()) == 1
    assert len(ctx.authority.list_families()) == families_before


def test_the_admin_socket_is_a_0600_unix_socket_and_absent_from_tcp(full_daemon: RunningDaemon) -> None:
    mode = os.stat(full_daemon.admin_socket).st_mode
    assert stat.S_ISSOCK(mode)
    assert stat.S_IMODE(mode) == 0o600
    assert stat.S_IMODE(os.stat(full_daemon.admin_socket.parent).st_mode) == 0o700
    # The daemon's only TCP listener is its HTTP port; an admin request sent there is not understood.
    with socket.create_connection(("127.0.0.1", full_daemon.port), timeout=5) as raw:
        raw.sendall(b'{"id": 1, "method": "status"}\n\n')
        answer = raw.recv(4096)
    assert not answer.startswith(b"{"), answer[:200]
    with httpx2.Client(base_url=full_daemon.url, timeout=5) as http:
        for path in ("/admin", "/approvals.decide", "/families.create", "/agent-auth/v1/approvals/decide"):
            reply = http.post(path, json={"id": 1, "method": "approvals.decide", "params": {}})
            assert reply.status_code == 404, (path, reply.status_code)
    assert listening_tcp_ports_of_this_process() == {full_daemon.port}


@pytest.mark.anyio
async def test_an_admin_socket_on_a_platform_without_peer_credentials_refuses_to_start(
    daemon_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Rather than start and then refuse every client (what macOS got before), the server will not start."""
    from mcp_server.daemon import admin_socket
    from mcp_server.daemon.peercred import PeerCredentialsUnsupportedError

    ctx = open_context(load_settings(env=daemon_env))
    path = Path(tempfile.mkdtemp(prefix="aa-peer-")) / "admin.sock"
    monkeypatch.setattr(admin_socket.sys, "platform", "sunos5")
    try:
        with pytest.raises(PeerCredentialsUnsupportedError):
            await AdminServer(ctx, path).serve()
    finally:
        monkeypatch.undo()
        ctx.gate.close()
        ctx.authority.audit.close()
        ctx.authority.db.dispose()
    assert not path.exists()


class _ExhaustedListener:
    """A real listener whose accept fails with EMFILE ``failures`` times first."""

    def __init__(self, real: Any, failures: int) -> None:
        self.real = real
        self.failures = failures

    async def accept(self) -> Any:
        if self.failures:
            self.failures -= 1
            raise OSError(errno.EMFILE, "Too many open files")
        return await self.real.accept()

    async def __aenter__(self) -> _ExhaustedListener:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.real.aclose()


@pytest.mark.anyio
async def test_the_admin_accept_loop_backs_off_on_emfile_and_keeps_serving(
    daemon_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The report: running out of descriptors killed the admin listener (and deleted admin.sock) for good."""
    real_listener = anyio.create_unix_listener

    async def exhausted(path: str) -> _ExhaustedListener:
        return _ExhaustedListener(await real_listener(path), 5)

    monkeypatch.setattr(anyio, "create_unix_listener", exhausted)
    ctx = open_context(load_settings(env=daemon_env))
    path = Path(tempfile.mkdtemp(prefix="aa-emfile-")) / "admin.sock"
    server = AdminServer(ctx, path)
    try:
        async with anyio.create_task_group() as tg:
            await tg.start(server.serve)
            with anyio.fail_after(10):
                stream = await anyio.connect_unix(str(path))
                async with stream:
                    await stream.send(json.dumps({"id": 1, "method": "status", "params": {}}).encode() + b"\n")
                    answer = json.loads((await stream.receive()).splitlines()[0])
                    await stream.send_eof()  # the server ends the connection on its own: nothing left to cancel
                    with pytest.raises((anyio.EndOfStream, anyio.BrokenResourceError)):
                        await stream.receive()
            assert path.exists()
            tg.cancel_scope.cancel()
    finally:
        ctx.gate.close()
        ctx.authority.audit.close()
        ctx.authority.db.dispose()
    assert answer["id"] == 1 and "result" in answer
