"""``agent-auth doctor``: check the whole setup and say how to fix what is wrong."""

from __future__ import annotations

import argparse
from typing import Any

from mcp_server.cli.app import EXIT_FAILED, EXIT_OK, Application

MARKS = {"ok": "ok  ", "warning": "WARN", "error": "FAIL"}


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser) -> None:
    doctor = sub.add_parser(
        "doctor",
        parents=[common],
        help="check the daemon, keys, store, audit log, Things, gpg, git, credentials and service",
        description="Check everything agent-auth needs and print each result as ok, WARN or FAIL with how to "
        "fix it. Read-only: nothing is changed. Exits 0 when nothing failed (warnings allowed), 1 otherwise.",
    )
    doctor.set_defaults(handler=cmd_doctor)


def cmd_doctor(app: Application, args: argparse.Namespace) -> int:
    from auth.audit import verify_log
    from mcp_server.doctor import run_checks

    def local_verify() -> dict[str, Any]:
        authority = app.authority()
        return verify_log(authority.audit.path, authority.keys.audit, authority.audit_checkpoint()).to_json()

    checks = run_checks(app.settings, local_verify)
    failed = [c for c in checks if c.status == "error"]
    lines = []
    for check in checks:
        lines.append(f"{MARKS[check.status]}  {check.name:<20} {check.detail}")
        if check.fix and check.status != "ok":
            lines.append(f"      {'':<20} fix: {check.fix}")
    warnings = sum(c.status == "warning" for c in checks)
    lines.append(f"\n{len(checks)} checks: {len(failed)} failed, {warnings} warnings")
    app.emit({"ok": not failed, "checks": [c.to_json() for c in checks]}, "\n".join(lines))
    return EXIT_FAILED if failed else EXIT_OK
