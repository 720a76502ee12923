"""``agent-auth verify-audit``: check the audit log's HMAC chain and its checkpoint."""

from __future__ import annotations

import argparse

from auth.errors import AuthError
from mcp_server.cli.app import EXIT_FAILED, EXIT_OK, Application, UserError


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser) -> None:
    verify = sub.add_parser(
        "verify-audit",
        parents=[common],
        help="check that the audit log has not been altered",
        description="Verify the audit log's HMAC chain and its checkpoint in the token store. Exits 0 when "
        "intact, 1 when tampered (naming the first bad line), 2 when it cannot check.",
    )
    verify.set_defaults(handler=cmd_verify_audit)


def cmd_verify_audit(app: Application, args: argparse.Namespace) -> int:
    from auth.audit import verify_log

    # Exit 1 means "tampered"; anything that stops the check from running is documented as exit 2.
    try:
        authority = app.authority()
        report = verify_log(authority.audit.path, authority.keys.audit, authority.audit_checkpoint())
    except AuthError as exc:
        raise UserError(exc.message, code=exc.code, check_could_not_run=True) from None
    except OSError as exc:
        raise UserError(
            f"cannot read the audit log: {exc}", code="audit_unreadable", check_could_not_run=True
        ) from None
    payload = {"path": str(authority.audit.path), **report.to_json()}
    if report.ok:
        text = f"audit log intact: {report.entries} entries ({authority.audit.path})"
    else:
        text = f"audit log TAMPERED at line {report.first_bad_line}: {report.reason} ({authority.audit.path})"
    for note in report.notes:
        text += f"\nnote: {note}"
    app.emit(payload, text)
    return EXIT_OK if report.ok else EXIT_FAILED
