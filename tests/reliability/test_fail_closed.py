"""When the audit log cannot be written, nothing is granted; when it can again, the daemon recovers.

Simulated, not real: the daemon holds the audit log open, so a ``chmod`` of the file or its directory
would not stop writes to the open descriptor (and the suite may run as root, where chmod restricts
nothing). ``os.write`` in ``auth.audit`` is replaced by one that fails with ENOSPC (disk full) or EROFS
(read-only file system) while the fault is on — the errors a full disk or a read-only remount give.
"""

from __future__ import annotations

import errno
import os
from typing import Any

import httpx2
import pytest

import auth.audit
from tests.support.daemon import RunningDaemon


class FaultyOs:
    """``os`` for ``auth.audit`` whose ``write`` fails with ``failing_errno`` while it is set."""

    def __init__(self) -> None:
        self.failing_errno: int | None = None
        self.refused_writes = 0

    def write(self, fd: int, data: bytes) -> int:
        if self.failing_errno is not None:
            self.refused_writes += 1
            raise OSError(self.failing_errno, os.strerror(self.failing_errno))
        return os.write(fd, data)

    def __getattr__(self, name: str) -> Any:
        return getattr(os, name)


@pytest.mark.parametrize("failing_errno", [errno.ENOSPC, errno.EROFS])
def test_an_unwritable_audit_log_refuses_every_decision_and_recovers(
    full_daemon: RunningDaemon, monkeypatch: pytest.MonkeyPatch, failing_errno: int
) -> None:
    faulty = FaultyOs()
    monkeypatch.setattr(auth.audit, "os", faulty)
    family = full_daemon.create_family({"things:read": "allow", "things:write": "prompt"})
    validate = {"token": family.access_token, "required_scope": "things:read"}
    with httpx2.Client(base_url=full_daemon.url, timeout=15) as http:
        assert http.post("/agent-auth/v1/validate", json=validate).status_code == 200

        faulty.failing_errno = failing_errno
        for scope in ("things:read", "things:write", "gpg:sign"):
            reply = http.post("/agent-auth/v1/validate", json={**validate, "required_scope": scope})
            assert reply.status_code in (403, 503), reply.text
            assert reply.json()["valid"] is False
            if scope == "things:read":
                assert reply.status_code == 503 and reply.json()["error"] == "audit_unavailable", reply.text
        with pytest.raises(auth.audit.AuditError):
            full_daemon.create_family({"things:read": "allow"})
        assert faulty.refused_writes >= 4
        assert full_daemon.ctx.broker.pending() == [], "a refused approval request stayed pending"

        faulty.failing_errno = None
        assert http.post("/agent-auth/v1/validate", json=validate).status_code == 200
    report = auth.audit.verify_log(
        full_daemon.settings.audit_log_path,
        full_daemon.ctx.authority.keys.audit,
        full_daemon.ctx.authority.audit_checkpoint(),
    )
    assert report.ok, report.to_json()


def test_a_refresh_while_the_audit_log_is_unwritable_is_a_documented_refusal_and_consumes_nothing(
    full_daemon: RunningDaemon, monkeypatch: pytest.MonkeyPatch
) -> None:
    faulty = FaultyOs()
    monkeypatch.setattr(auth.audit, "os", faulty)
    family = full_daemon.create_family({"things:read": "allow"})
    with httpx2.Client(base_url=full_daemon.url, timeout=15) as http:
        faulty.failing_errno = errno.ENOSPC
        refused = http.post("/agent-auth/v1/token/refresh", json={"refresh_token": family.refresh_token})
        faulty.failing_errno = None
        again = http.post("/agent-auth/v1/token/refresh", json={"refresh_token": family.refresh_token})
    assert "access_token" not in refused.text
    assert refused.status_code == 503 and refused.json()["error"] == "audit_unavailable", refused.text
    assert again.status_code == 200, again.text
