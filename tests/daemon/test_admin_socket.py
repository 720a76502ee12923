"""The admin API on the unix socket: who may connect, where it is (never TCP), and what it does."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import anyio
import pytest

from auth.admin_client import AdminConnection, AdminError, call_once
from mcp_server.admin_ops import LocalAdmin, SocketAdmin
from mcp_server.cli.app import Application
from mcp_server.daemon.admin_socket import AdminServer, PeerRefusedError, check_peer
from tests.support.daemon import RunningDaemon
from tests.support.openapi import checking_client
from tests.support.platform import listening_tcp_ports_of_this_process

pytestmark = pytest.mark.anyio

REPO = Path(__file__).resolve().parents[2]


def run_cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mcp_server.cli.main", *args],
        env={**env, "PATH": os.environ.get("PATH", "")},
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def audit_entries(daemon: RunningDaemon) -> list[dict[str, Any]]:
    return [json.loads(line) for line in daemon.settings.audit_log_path.read_text().splitlines() if line]


# --- who and where ------------------------------------------------------------------------------


def test_the_socket_is_0600_in_a_0700_directory(daemon: RunningDaemon) -> None:
    path = daemon.admin_socket
    assert stat.S_ISSOCK(path.stat().st_mode)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700


def test_check_peer_accepts_our_uid_and_refuses_any_other() -> None:
    check_peer(os.getuid(), os.getuid())
    with pytest.raises(PeerRefusedError):
        check_peer(os.getuid() + 1, os.getuid())
    with pytest.raises(PeerRefusedError):
        check_peer(0, 12345)


async def test_a_connection_from_another_uid_is_refused(daemon: RunningDaemon) -> None:
    path = Path(tempfile.mkdtemp(prefix="aa-peer-")) / "admin.sock"
    server = AdminServer(daemon.ctx, path, uid_of=lambda _sock: os.getuid() + 1)
    async with anyio.create_task_group() as tg:
        await tg.start(server.serve)
        with pytest.raises(AdminError) as refused:
            with anyio.fail_after(10):
                await call_once(path, "families.list")
        tg.cancel_scope.cancel()
    assert refused.value.code == "peer_refused"
    assert not path.exists()  # removed when the server stops
    path.parent.rmdir()


def test_the_only_tcp_port_the_daemon_listens_on_is_the_http_one(daemon: RunningDaemon) -> None:
    assert listening_tcp_ports_of_this_process() == {daemon.port}


@pytest.mark.parametrize("path", ["/families.list", "/admin", "/approvals.decide", "/agent-auth/v1/approvals/decide"])
async def test_admin_methods_are_not_routable_over_http(daemon: RunningDaemon, path: str) -> None:
    async with checking_client(daemon.url) as http:
        response = await http.post(path, json={"method": "families.list"})
    assert response.status_code == 404


# --- methods ------------------------------------------------------------------------------------


async def test_families_through_the_socket_write_the_same_audit_entries_as_the_cli_direct_path(
    daemon: RunningDaemon,
) -> None:
    from auth.scopes import Tier

    async def through_socket() -> None:
        async with await AdminConnection.connect(daemon.admin_socket) as conn:
            created = await conn.call("families.create", scopes={"things:read": "allow"}, label="a")
            await conn.call("families.modify", family_id=created["family_id"], add={"gpg:sign": "prompt"})
            rotated = await conn.call("families.rotate", family_id=created["family_id"])
            await conn.call("families.revoke", family_id=rotated["family_id"])

    def direct() -> None:
        admin = LocalAdmin(daemon.ctx.authority, actor="cli")
        created = admin.create_family({"things:read": Tier.ALLOW}, "a", 900, 28_800)
        admin.modify_family(created["family_id"], {"gpg:sign": Tier.PROMPT}, [], {})
        rotated = admin.rotate_family(created["family_id"])
        admin.revoke_family(rotated["family_id"])

    start = len(audit_entries(daemon))
    await through_socket()
    middle = len(audit_entries(daemon))
    direct()
    entries = audit_entries(daemon)
    volatile = {"seq", "ts", "time", "mac", "prev", "family_id", "new_family_id", "actor"}

    def shape(batch: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [{k: v for k, v in e.items() if k not in volatile} for e in batch if e["event"].startswith("token.")]

    socket_batch, cli_batch = entries[start:middle], entries[middle:]
    assert shape(socket_batch) == shape(cli_batch)
    assert [e["event"] for e in shape(socket_batch)] == ["token.create", "token.modify", "token.rotate", "token.revoke"]
    assert {e["actor"] for e in socket_batch if "actor" in e} == {"admin-socket"}
    assert {e["actor"] for e in cli_batch if "actor" in e} == {"cli"}


async def test_admin_methods_report_stable_error_codes(daemon: RunningDaemon) -> None:
    async with await AdminConnection.connect(daemon.admin_socket) as conn:
        codes = []
        for method, params in [
            ("families.show", {"family_id": "0" * 32}),
            ("families.show", {"family_id": "nope"}),
            ("families.create", {"scopes": {"agent-auth:manage": "allow"}}),
            ("families.create", {"scopes": {"Bad Scope": "allow"}}),
            ("families.create", {"scopes": {}}),
            ("families.revoke", {}),
            ("no.such.method", {}),
        ]:
            with pytest.raises(AdminError) as failed:
                await conn.call(method, **params)
            codes.append(failed.value.code)
    assert codes == [
        "family_not_found",
        "invalid_argument",
        "reserved_scope",
        "invalid_scope",
        "invalid_scope",
        "invalid_params",
        "unknown_method",
    ]


async def test_a_malformed_line_is_answered_and_the_connection_stays_usable(daemon: RunningDaemon) -> None:
    async with await anyio.connect_unix(str(daemon.admin_socket)) as stream:
        await stream.send(b"this is not json\n[1,2]\n" + json.dumps({"id": 7, "method": "status"}).encode() + b"\n")
        received = b""
        with anyio.fail_after(10):
            while received.count(b"\n") < 3:
                received += await stream.receive()
    answers = [json.loads(line) for line in received.splitlines()]
    assert [a.get("error", {}).get("code") for a in answers[:2]] == ["malformed_request", "malformed_request"]
    assert answers[2]["id"] == 7
    assert answers[2]["result"]["url"] == daemon.url


async def test_approvals_list_audit_tail_verify_and_known_scopes(daemon: RunningDaemon) -> None:
    issued = daemon.create_family({"things:read": "allow"})
    other = daemon.create_family({"things:read": "allow"})
    async with checking_client(daemon.url) as http:
        for token, scope in [(issued.access_token, "things:read"), (issued.access_token, "gpg:sign")]:
            await http.post("/agent-auth/v1/validate", json={"token": token, "required_scope": scope})
        await http.post("/agent-auth/v1/validate", json={"token": other.access_token, "required_scope": "things:read"})
    async with await AdminConnection.connect(daemon.admin_socket) as conn:
        approvals = await conn.call("approvals.list")
        mine = await conn.call("audit.tail", family_id=issued.family_id, event="decision")
        denied = await conn.call("audit.tail", outcome="deny")
        newest = await conn.call("audit.tail", limit=1)
        verified = await conn.call("audit.verify")
        known = await conn.call("scopes.known")
    assert approvals == {"pending": [], "history": [], "grants": [], "timeout_seconds": 10.0}
    assert [(e["scope"], e["outcome"]) for e in mine] == [("gpg:sign", "deny"), ("things:read", "allow")]
    assert [e["family_id"] for e in denied] == [issued.family_id]
    assert len(newest) == 1 and newest[0]["family_id"] == other.family_id
    assert verified["ok"] is True
    assert {"agent-auth:health", "agent-auth:metrics", "agent-auth:manage"} <= {s["scope"] for s in known}


async def test_a_subscriber_sees_decisions_in_the_audit_stream(daemon: RunningDaemon) -> None:
    issued = daemon.create_family({"things:read": "allow"})
    async with await AdminConnection.connect(daemon.admin_socket) as conn:
        await conn.call("subscribe", topics=["audit"])
        async with checking_client(daemon.url) as http:
            await http.post(
                "/agent-auth/v1/validate", json={"token": issued.access_token, "required_scope": "things:write"}
            )
        with anyio.fail_after(10):
            async for message in conn.events():
                if message["event"] == "audit" and message["data"]["event"] == "decision":
                    break
    assert message["data"]["outcome"] == "deny"
    assert message["data"]["reason"] == "scope_denied"


# --- the CLI ------------------------------------------------------------------------------------


async def test_the_cli_uses_the_socket_while_the_daemon_runs(daemon: RunningDaemon, daemon_env: dict[str, str]) -> None:
    app = Application(_settings=daemon.settings)
    assert isinstance(app.admin(), SocketAdmin)
    created = await anyio.to_thread.run_sync(
        lambda: run_cli(daemon_env, "token", "create", "--json", "--scope", "things:read", "--label", "cli")
    )
    assert created.returncode == 0, created.stderr
    family_id = json.loads(created.stdout)["family_id"]
    listed = await anyio.to_thread.run_sync(lambda: run_cli(daemon_env, "token", "list", "--json"))
    assert listed.returncode == 0, listed.stderr
    assert [f["family_id"] for f in json.loads(listed.stdout)["families"]] == [family_id]
    actors = [e.get("actor") for e in audit_entries(daemon) if e.get("family_id") == family_id]
    assert actors == ["admin-socket"]


async def test_a_cli_revoke_written_straight_to_the_store_is_seen_by_the_running_daemon(
    daemon: RunningDaemon, daemon_env: dict[str, str]
) -> None:
    """The CLI cannot see the socket (another runtime dir), so it writes the database itself."""
    issued = daemon.create_family({"things:read": "allow"})
    elsewhere = tempfile.mkdtemp(prefix="aa-cli-")
    async with checking_client(daemon.url) as http:
        body = {"token": issued.access_token, "required_scope": "things:read"}
        assert (await http.post("/agent-auth/v1/validate", json=body)).status_code == 200
        revoked = await anyio.to_thread.run_sync(
            lambda: run_cli({**daemon_env, "XDG_RUNTIME_DIR": elsewhere}, "token", "revoke", issued.family_id)
        )
        assert revoked.returncode == 0, revoked.stderr
        response = await http.post("/agent-auth/v1/validate", json=body)
    os.rmdir(elsewhere)
    assert response.status_code == 401
    assert response.json()["error"] == "token_revoked"
    actors = [e.get("actor") for e in audit_entries(daemon) if e.get("event") == "token.revoke"]
    assert actors == ["cli"]
