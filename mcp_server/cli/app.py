"""The application object shared by commands: settings, output mode, lazily opened services."""

from __future__ import annotations

import json
import logging
import sys
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, NoReturn

from auth.untrusted import neutralise

# The exit codes live with the error vocabulary; commands import them from here.
from mcp_server.errors import EXIT_CONFLICT as EXIT_CONFLICT
from mcp_server.errors import EXIT_FAILED as EXIT_FAILED
from mcp_server.errors import EXIT_NOT_FOUND as EXIT_NOT_FOUND
from mcp_server.errors import EXIT_OK as EXIT_OK
from mcp_server.errors import EXIT_STORE as EXIT_STORE
from mcp_server.errors import EXIT_UNREACHABLE as EXIT_UNREACHABLE
from mcp_server.errors import EXIT_USAGE as EXIT_USAGE
from mcp_server.errors import AgentAuthError, CodedError, exit_code
from mcp_server.settings import Settings, SettingsError, load_settings

if TYPE_CHECKING:
    from auth.authority import Authority
    from mcp_server.admin_ops import TokenAdmin

log = logging.getLogger("agent_auth")


EXIT_CODES_HELP = """exit codes:
  0  success
  1  the operation was refused or a check failed (e.g. a tampered audit log)
  2  usage error, bad input, or a check that could not run
  3  not found (e.g. an unknown family id)
  4  keys or token store unusable (missing keys, wrong keys, unreadable files)
  5  the daemon is not reachable
  6  cannot start: another agent-auth daemon serves this home, or the port is in use
"""


class UserError(AgentAuthError):
    """An error to report to the person at the terminal, with a hint.

    The exit code is the registry's for ``code`` (``mcp_server.errors``), never chosen where the error is
    raised — except the one documented rule of the table above: a check that could not run exits 2 whatever
    stopped it (``verify-audit`` with its keys gone says ``keys_missing`` and exits 2, not 4).
    """

    def __init__(self, message: str, *, code: str, hint: str | None = None, check_could_not_run: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.exit_code = EXIT_USAGE if check_could_not_run else exit_code(code)
        self.hint = hint

    @classmethod
    def of(cls, error: CodedError, hint: str | None = None) -> UserError:
        """An error of another package, reported with its own message and code."""
        return cls(getattr(error, "message", None) or str(error), code=error.code, hint=hint)


@dataclass
class Application:
    json_output: bool = False
    _settings: Settings | None = None
    _authority: Authority | None = field(default=None, repr=False)

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            try:
                self._settings = load_settings()
            except SettingsError as exc:
                raise UserError(str(exc), code=exc.code) from None
        return self._settings

    def authority(self) -> Authority:
        if self._authority is None:
            from auth.bootstrap import StorePaths, open_authority
            from auth.keys import select_key_store

            s = self.settings
            try:
                key_store = select_key_store(s.key_store, s.key_file_path)
                self._authority = open_authority(
                    StorePaths(s.database_path, s.audit_log_path), key_store, audit_fsync=s.audit_fsync
                )
            except OSError as exc:  # e.g. a file where a directory should be, or no permission
                where = exc.filename or s.data_dir
                raise UserError(
                    f"cannot use {where}: {exc.strerror or exc}",
                    code="store_unusable",
                    hint="agent-auth keeps its data in directories it can create and own; move what is in the way",
                ) from None
        return self._authority

    def admin(self) -> TokenAdmin:
        """Token administration: the running daemon's admin socket, or the store directly."""
        from auth.admin_client import daemon_running
        from mcp_server.admin_ops import LocalAdmin, SocketAdmin

        if daemon_running(self.settings.admin_socket_path):
            return SocketAdmin(self.settings.admin_socket_path)
        return LocalAdmin(self.authority(), actor="cli")

    def close(self) -> None:
        if self._authority is not None:
            self._authority.audit.close()
            self._authority.db.dispose()
            self._authority = None

    @staticmethod
    def now() -> float:
        return time.time()

    def emit(self, payload: Any, text: str | None = None) -> None:
        """Print a result: JSON in --json mode, otherwise the human text."""
        if self.json_output:
            sys.stdout.write(json.dumps(payload, indent=2, sort_keys=True) + "\n")
        elif text is not None:
            sys.stdout.write(neutralise(text.rstrip("\n"), multiline=True) + "\n")

    def fail(self, error: UserError) -> NoReturn:
        if self.json_output:
            body = {"error": {"code": error.code, "message": error.message, "hint": error.hint}}
            sys.stderr.write(json.dumps(body) + "\n")
        else:
            sys.stderr.write(f"agent-auth: error: {neutralise(error.message, multiline=True)}\n")
            if error.hint:
                sys.stderr.write(f"hint: {neutralise(error.hint, multiline=True)}\n")
        raise SystemExit(error.exit_code)
