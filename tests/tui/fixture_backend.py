"""A canned admin backend with fixed ids and times, for screenshots that must not change between runs.

Behaviour tests use the real daemon; only the SVG snapshots use this, because a real daemon's ids,
tokens and timestamps differ on every run.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import anyio

from auth.admin_client import DaemonUnavailableError

NOW = 1_750_000_000.0
URL = "http://127.0.0.1:9100"
SOCKET = "/run/user/1000/agent-auth/admin.sock"

FAMILIES = [
    {
        "family_id": "fam_laptop01",
        "label": "claude-code laptop",
        "scopes": {"things:read": "allow", "things:write": "prompt", "gpg:sign": "prompt"},
        "created_at": NOW - 3 * 86400,
        "last_used_at": NOW - 120,
        "status": "active",
        "access_ttl_seconds": 900,
        "refresh_ttl_seconds": 28800,
        "rotated_to": None,
        "revoke_reason": None,
    },
    {
        "family_id": "fam_ci000002",
        "label": "ci runner",
        "scopes": {"gpg:sign": "allow", "things:write": "deny"},
        "created_at": NOW - 7200,
        "last_used_at": None,
        "status": "active",
        "access_ttl_seconds": 900,
        "refresh_ttl_seconds": 28800,
        "rotated_to": None,
        "revoke_reason": None,
    },
    {
        "family_id": "fam_old00003",
        "label": "old script",
        "scopes": {"things:read": "allow"},
        "created_at": NOW - 30 * 86400,
        "last_used_at": NOW - 20 * 86400,
        "status": "revoked",
        "access_ttl_seconds": 900,
        "refresh_ttl_seconds": 28800,
        "rotated_to": None,
        "revoke_reason": "revoked by admin-socket",
    },
]


def _approval(number: int, label: str, scope: str, summary: str, age_seconds: float) -> dict[str, Any]:
    return {
        "id": f"ap_{number}_0000000{number}",
        "family_id": "fam_laptop01",
        "label": label,
        "scope": scope,
        "operation": "things_add_todo" if scope == "things:write" else "gpg_sign",
        "summary": summary,
        "requested_at": NOW - age_seconds,
        "expires_at": NOW - age_seconds + 60,
        "waiters": 1,
        "status": "pending",
    }


PENDING = [
    _approval(3, "claude-code laptop", "things:write", "Add to-do 'Buy oat milk' to Today", 4),
    _approval(2, "claude-code laptop", "gpg:sign", "Sign commit 'Fix login redirect' by Ada <ada@example.org>", 21),
]

HISTORY = [
    {
        **_approval(1, "claude-code laptop", "things:write", "Add to-do 'Call the bank'", 300),
        "status": "approved",
        "decision": {
            "approved": True,
            "reason": "approved",
            "grant": "timed",
            "duration_minutes": 60,
            "decided_by": "tui",
        },
        "decided_at": NOW - 290,
    },
    {
        **_approval(0, "ci runner", "things:write", "Delete project 'Taxes'", 900),
        "status": "timeout",
        "decision": {
            "approved": False,
            "reason": "timeout",
            "grant": None,
            "duration_minutes": None,
            "decided_by": None,
        },
        "decided_at": NOW - 840,
    },
]

AUDIT = [
    {
        "seq": 5,
        "ts": "2025-06-15T15:06:36.000000+00:00",
        "event": "decision",
        "outcome": "allow",
        "family_id": "fam_laptop01",
        "scope": "things:read",
        "operation": "things_list_today",
        "tier": "allow",
    },
    {
        "seq": 4,
        "ts": "2025-06-15T15:05:10.000000+00:00",
        "event": "decision",
        "outcome": "deny",
        "family_id": "fam_ci000002",
        "scope": "things:write",
        "operation": "things_delete",
        "code": "scope_denied",
    },
    {
        "seq": 3,
        "ts": "2025-06-15T15:01:52.000000+00:00",
        "event": "approval.decided",
        "family_id": "fam_laptop01",
        "scope": "things:write",
        "operation": "things_add_todo",
        "approved": True,
        "reason": "approved",
        "summary": "Add to-do 'Call the bank'",
    },
    {
        "seq": 2,
        "ts": "2025-06-15T13:06:40.000000+00:00",
        "event": "token.create",
        "family_id": "fam_ci000002",
        "actor": "admin-socket",
    },
    {
        "seq": 1,
        "ts": "2025-06-12T15:06:40.000000+00:00",
        "event": "token.create",
        "family_id": "fam_laptop01",
        "actor": "admin-socket",
    },
]

ISSUED = {
    "family_id": "fam_new00004",
    "label": "devcontainer",
    "access_token": "aa_0123456789abcdef_" + "s" * 43,
    "refresh_token": "rt_fedcba9876543210_" + "r" * 43,
    "expires_in": 900,
    "scopes": {"things:read": "allow"},
}

KNOWN_SCOPES = [
    {"scope": "agent-auth:health", "description": "read the daemon's health endpoint", "tools": [], "system": True},
    {"scope": "gpg:sign", "description": "sign with an allowed key", "tools": ["gpg_sign"], "system": False},
    {
        "scope": "things:read",
        "description": "read Things",
        "tools": ["things_list_today", "things_search"],
        "system": False,
    },
    {"scope": "things:write", "description": "write Things", "tools": ["things_add_todo"], "system": False},
]


class _Subscription:
    def __init__(self, pending: list[dict[str, Any]]) -> None:
        self.pending = pending

    async def events(self) -> AsyncIterator[dict[str, Any]]:
        await anyio.sleep_forever()
        yield {}


GRANTS = [
    {
        "id": "gr_0a1b2c3d4e5f",
        "family_id": "3f2a" + "0" * 28,
        "label": "laptop",
        "scope": "gpg:sign",
        "surface": "mcp",
        "target": "gpg_sign",
        "expires_at": 1_800_000_900.0,
        "seconds_left": 540,
    }
]


class FixtureBackend:
    """Answers every admin method with the canned data above; the event stream stays quiet."""

    def __init__(self, *, running: bool = True) -> None:
        self.running = running
        self.answers: dict[str, Any] = {
            "status": {"url": URL, "uptime_seconds": 3725.0, "families": 3, "pending_approvals": 2},
            "families.list": FAMILIES,
            "approvals.list": {"pending": PENDING, "history": HISTORY, "grants": [], "timeout_seconds": 60},
            "consent.list": {"pending": []},
            "grants.list": {"grants": GRANTS},
            "audit.tail": AUDIT,
            "audit.verify": {"ok": True, "entries": 5, "first_bad_line": None, "reason": None, "notes": []},
            "scopes.known": KNOWN_SCOPES,
            "families.create": ISSUED,
            "families.rotate": ISSUED,
        }

    @property
    def address(self) -> str:
        return SOCKET

    def _check(self) -> None:
        if not self.running:
            raise DaemonUnavailableError(Path(SOCKET), "No such file or directory")

    async def call(self, method: str, **params: Any) -> Any:
        self._check()
        return self.answers[method]

    @contextlib.asynccontextmanager
    async def subscribe(self, topics: list[str]) -> AsyncIterator[_Subscription]:
        self._check()
        yield _Subscription(PENDING)
