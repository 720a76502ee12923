"""No record, no effect — with a really unwritable audit log, on a real daemon, on every surface.

The audit log is made unwritable for real: the file is moved aside and a directory takes its place (a
``chmod`` would not do: the daemon holds the file open, and the suite may run as root). While it is so,
nothing is returned and nothing is written on any surface — REST ``/validate``, an allow-tier MCP read, an
MCP write under a timed grant, the Things bridge, the GPG bridge and the git shim that calls it. Once the
file is back, the daemon records again and the chain verifies.
"""

from __future__ import annotations

import base64
import errno
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx2
import pytest

import auth.audit
from tests.gpg.gpg_support import commit_payload
from tests.integrations.gpg_fixtures import GpgKeys, gpg_keys
from tests.reliability.conftest import StartFull
from tests.reliability.mcp_wire import McpWire
from tests.reliability.test_fail_closed import FaultyOs
from tests.support.daemon import RunningDaemon

SHIM_MAIN = "import sys; from mcp_server.gpg_shim import main; sys.exit(main())"
TITLE = "Written while the audit log was gone"


@pytest.fixture(scope="module")
def keys() -> Iterator[GpgKeys]:
    with gpg_keys() as made:
        yield made


@contextmanager
def audit_log_replaced_by_a_directory(path: Path) -> Iterator[None]:
    aside = path.with_name(path.name + ".aside")
    path.rename(aside)
    path.mkdir()
    try:
        yield
    finally:
        path.rmdir()
        aside.rename(path)


def todos_titled(daemon: RunningDaemon, title: str) -> int:
    database = daemon.settings.data_dir / "things-sample.sqlite"
    with sqlite3.connect(database) as conn:
        return int(conn.execute("SELECT COUNT(*) FROM TMTask WHERE title = ?", (title,)).fetchone()[0])


def approve_with_a_timed_grant(daemon: RunningDaemon) -> None:
    broker = daemon.ctx.broker

    def listener(kind: str, data: dict[str, Any]) -> None:
        if kind == "approval.created":
            broker.decide(data["id"], approved=True, grant="timed", duration_minutes=5, decided_by="test")

    daemon.in_loop(lambda: broker.subscribe(listener))


def tool_call(wire: McpWire, name: str, arguments: dict[str, Any]) -> dict[str, Any]:
    reply = wire.call("tools/call", {"name": name, "arguments": arguments})
    assert reply.status == 200, reply.text
    result = reply.body["result"]
    assert isinstance(result, dict)
    return result


def shim_sign(daemon: RunningDaemon, token: str, key: str, payload: bytes) -> subprocess.CompletedProcess[bytes]:
    env = {"PATH": "/usr/bin:/bin", "AGENT_AUTH_URL": daemon.url, "AGENT_AUTH_TOKEN": token}
    return subprocess.run(
        [sys.executable, "-c", SHIM_MAIN, "--status-fd=2", "-bsau", key],
        input=payload,
        env=env,
        capture_output=True,
        timeout=60,
    )


def test_with_the_audit_log_unwritable_no_surface_returns_data_or_performs_a_write(
    start_full: StartFull, keys: GpgKeys
) -> None:
    daemon = start_full(gpg_home=str(keys.home), gpg_allowed_keys=list(keys.allowed))
    family = daemon.create_family(
        {"things:read": "allow", "things:write": "prompt", "gpg:sign": "allow"}, label="agent"
    )
    token = family.access_token
    approve_with_a_timed_grant(daemon)
    sign_body = {"local_user": keys.alice, "payload_b64": base64.b64encode(commit_payload()).decode()}
    audit_path = daemon.settings.audit_log_path
    with httpx2.Client(base_url=daemon.url, timeout=30) as http:
        wire = McpWire(http, token)
        wire.open()
        bearer = {"Authorization": f"Bearer {token}"}
        # Everything works while the log is writable; the first write earns a five-minute grant.
        assert http.post("/agent-auth/v1/validate", json={"token": token, "required_scope": "things:read"}).is_success
        assert tool_call(wire, "things_add_todo", {"title": "before"}).get("isError") is not True
        assert http.get("/things-bridge/v1/areas", headers=bearer).status_code == 200

        with audit_log_replaced_by_a_directory(audit_path):
            validate = http.post("/agent-auth/v1/validate", json={"token": token, "required_scope": "things:read"})
            read = tool_call(wire, "things_list_todos", {"limit": 5})
            write = tool_call(wire, "things_add_todo", {"title": TITLE})
            bridge = http.get("/things-bridge/v1/todos", headers=bearer)
            signed = http.post("/gpg-bridge/v1/sign", json=sign_body, headers=bearer)
            shim = shim_sign(daemon, token, keys.alice, commit_payload())

        assert validate.status_code == 503 and validate.json()["error"] == "audit_unavailable", validate.text
        assert read.get("isError") is True and "structuredContent" not in read, read
        assert write.get("isError") is True, write
        assert todos_titled(daemon, TITLE) == 0, "the write ran without a record"
        assert bridge.status_code >= 500 and "items" not in bridge.text, bridge.text
        assert signed.status_code >= 500 and "signature_b64" not in signed.text, signed.text
        assert shim.returncode != 0 and b"BEGIN PGP SIGNATURE" not in shim.stdout, shim.stderr

        # Back in place: the daemon records again, and the chain it wrote is intact.
        assert http.post("/agent-auth/v1/validate", json={"token": token, "required_scope": "things:read"}).is_success
    report = auth.audit.verify_log(audit_path, daemon.ctx.authority.keys.audit, daemon.ctx.authority.audit_checkpoint())
    assert report.ok, report.to_json()


def test_with_a_full_disk_an_allow_tier_mcp_read_returns_nothing(
    full_daemon: RunningDaemon, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The issue's reproduction: on a full file system REST answered 503 while MCP returned data."""
    faulty = FaultyOs()
    monkeypatch.setattr(auth.audit, "os", faulty)
    token = full_daemon.create_family({"things:read": "allow"}).access_token
    with httpx2.Client(base_url=full_daemon.url, timeout=30) as http:
        wire = McpWire(http, token)
        wire.open()
        faulty.failing_errno = errno.ENOSPC
        read = tool_call(wire, "things_list_todos", {"limit": 5})
        faulty.failing_errno = None
        again = tool_call(wire, "things_list_todos", {"limit": 5})
    assert read.get("isError") is True and "structuredContent" not in read, read
    assert "[audit_unavailable]" in read["content"][0]["text"] or "cannot record" in read["content"][0]["text"]
    assert again.get("isError") is not True and again["structuredContent"]["items"], again
