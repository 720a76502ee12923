"""Shared pieces of the MCP tests: small gated test tools, a daemon serving ``/mcp``, audit reading."""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from auth.audit import AuditLog
from mcp_server.integration import ToolsOnly
from mcp_server.mcp.registry import ToolSpec
from tests.support.daemon import RunningDaemon, start_daemon

# The scopes of the test tools, and a family holding them at every tier (one scope absent).
READ_SCOPE = "notes:read"
WRITE_SCOPE = "notes:write"
ADMIN_SCOPE = "notes:admin"
ABSENT_SCOPE = "notes:export"
FAMILY_SCOPES = {READ_SCOPE: "allow", WRITE_SCOPE: "prompt", ADMIN_SCOPE: "deny"}
SECRET = "s3cr3t-passphrase-never-logged"


@dataclass
class ToolRuns:
    """Which test tool bodies ran (appended from whichever thread or loop ran them)."""

    names: list[str] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, name: str) -> None:
        with self._lock:
            self.names.append(name)


def notes_tools(runs: ToolRuns) -> list[ToolSpec]:
    """One tool per tier: read (allow), write (prompt), purge (deny), export (scope absent from the family)."""

    def read_note(title: str) -> str:
        runs.record("read_note")
        return f"note {title}"

    async def write_note(title: str, body: str, passphrase: str = "") -> str:
        runs.record("write_note")
        return f"wrote {title}"

    def purge_notes() -> str:
        runs.record("purge_notes")
        return "purged"

    def export_notes() -> str:
        runs.record("export_notes")
        return "exported"

    return [
        ToolSpec("read_note", read_note, READ_SCOPE, "Read one note.", read_only=True),
        ToolSpec(
            "write_note",
            write_note,
            WRITE_SCOPE,
            "Write one note.",
            summarize=lambda args: f"write note '{args.get('title')}'",
        ),
        ToolSpec("purge_notes", purge_notes, ADMIN_SCOPE, "Delete every note.", destructive=True),
        ToolSpec("export_notes", export_notes, ABSENT_SCOPE, "Export every note.", read_only=True),
    ]


def start_mcp_daemon(
    env: Mapping[str, str],
    runs: ToolRuns,
    *,
    overrides: Mapping[str, Any] | None = None,
) -> RunningDaemon:
    """A real daemon (uvicorn on 127.0.0.1:0, admin socket) whose ``/mcp`` serves whoami plus the test tools.

    ``tests.support.daemon.start_daemon`` serves the token service only; this adds the MCP surface the way
    ``compose.serve_forever`` does, with the test tools registered as a tool provider.
    """

    return start_daemon(env, overrides=overrides, integrations=[ToolsOnly("notes", notes_tools(runs))])


def audit_entries(audit: AuditLog | Path, event: str) -> list[dict[str, Any]]:
    """Entries of one event type from the audit log (JSON Lines)."""
    path = audit if isinstance(audit, Path) else audit.path
    entries = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [e for e in entries if e.get("event") == event]


def call_records(audit: AuditLog | Path) -> list[dict[str, Any]]:
    """One dict per gated call: its ``decision`` record plus ``tool`` (its target) and ``result`` — the
    ``call.result`` entry's result for a call that ran, else the refusal's reason."""
    results = {e["call_id"]: e for e in audit_entries(audit, "call.result")}
    calls = []
    for decision in audit_entries(audit, "decision"):
        ran = results.get(decision["call_id"])
        calls.append(
            {
                **decision,
                "tool": decision["target"],
                "result": ran["result"] if ran is not None else decision["reason"],
                "result_entry": ran,
            }
        )
    return calls
