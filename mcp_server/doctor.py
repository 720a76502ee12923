"""``agent-auth doctor``: every check a working setup needs, each ok / warning / error with the fix.

Checks read; they never change the store, the keyring or the daemon. When the daemon runs, store-side
checks that need its keys (the audit chain) ask it over the admin socket; the token store is opened
read-only so a running daemon is never disturbed.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import stat
import subprocess
import sys
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

from mcp_server.settings import Settings

Status = Literal["ok", "warning", "error"]
COMMAND_TIMEOUT_SECONDS = 10


@dataclass(frozen=True)
class Check:
    name: str
    status: Status
    detail: str
    fix: str | None = None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def _daemon_status(settings: Settings) -> dict[str, Any] | None:
    import anyio

    from auth.admin_client import call_once, daemon_running

    if not daemon_running(settings.admin_socket_path):
        return None
    try:
        result = anyio.run(lambda: call_once(settings.admin_socket_path, "status"))
    except Exception:  # a daemon that answers badly is reported as not reachable, never a traceback
        return None
    return result if isinstance(result, dict) else None


def check_daemon(settings: Settings, status: dict[str, Any] | None) -> Check:
    if status is None:
        return Check(
            "daemon",
            "error",
            f"no daemon answers on {settings.admin_socket_path}",
            "start it: agent-auth serve (or agent-auth service install to keep it running)",
        )
    version = status.get("version") or "unknown version"
    return Check("daemon", "ok", f"running at {status.get('url')} ({version}), pid {status.get('pid', '?')}")


def check_key_store(settings: Settings) -> Check:
    from auth.keyring_probe import real_keyring_backend
    from auth.keys import KeyStoreKind

    kind = settings.key_store
    backend = None if kind is KeyStoreKind.FILE else real_keyring_backend()
    if backend is not None:
        return Check("key store", "ok", f"OS keyring ({type(backend).__name__})")
    if kind is KeyStoreKind.KEYRING:
        return Check(
            "key store",
            "error",
            "key_store = keyring but no OS keyring backend is available",
            "install a keyring backend (gnome-keyring or KWallet; the macOS keychain works as is) "
            "or set key_store = file",
        )
    path = settings.key_file_path
    if not path.exists():
        return Check("key store", "warning", f"plain file {path} (not created yet)", "the first serve creates it 0600")
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        return Check("key store", "error", f"{path} is readable by others (mode {mode:o})", f"chmod 600 {path}")
    return Check(
        "key store",
        "warning",
        f"plain 0600 file {path}: anyone who can read your files can read the keys",
        "use the OS keyring where there is one (key_store = keyring)",
    )


def check_store(settings: Settings) -> Check:
    from auth.db import SCHEMA_VERSION

    path = settings.database_path
    if not path.exists():
        return Check("token store", "warning", f"{path} does not exist yet", "the first serve creates it")
    try:
        conn = sqlite3.connect(path.absolute().as_uri() + "?mode=ro", uri=True, timeout=2)
        try:
            integrity = conn.execute("PRAGMA quick_check").fetchone()[0]
            row = conn.execute("SELECT MAX(version) FROM schema_version").fetchone()
        finally:
            conn.close()
    except sqlite3.Error as exc:
        return Check("token store", "error", f"cannot read {path}: {exc}", "restore it from a backup")
    version = row[0] if row else None
    if integrity != "ok":
        return Check("token store", "error", f"{path} fails SQLite's integrity check: {integrity}", "restore it")
    if version != SCHEMA_VERSION:
        return Check(
            "token store",
            "error" if (version or 0) > SCHEMA_VERSION else "warning",
            f"schema version {version}, this agent-auth uses {SCHEMA_VERSION}",
            "upgrade agent-auth" if (version or 0) > SCHEMA_VERSION else "the next serve migrates it",
        )
    return Check("token store", "ok", f"{path}: integrity ok, schema version {version}")


def check_audit(settings: Settings, daemon_up: bool, local_verify: Callable[[], dict[str, Any]]) -> Check:
    try:
        if daemon_up:
            import anyio

            from auth.admin_client import call_once

            report = anyio.run(lambda: call_once(settings.admin_socket_path, "audit.verify"))
        else:
            if not settings.audit_log_path.exists():
                return Check(
                    "audit log",
                    "warning",
                    f"{settings.audit_log_path} does not exist yet",
                    "the first serve creates it",
                )
            report = local_verify()
    except Exception as exc:  # keys missing, store unreadable: the check could not run
        return Check("audit log", "error", f"cannot verify the audit chain: {exc}", "agent-auth verify-audit says more")
    if report.get("ok"):
        return Check("audit log", "ok", f"HMAC chain intact (entries: {report.get('entries')})")
    return Check(
        "audit log",
        "error",
        f"audit chain broken at line {report.get('first_bad_line')}: {report.get('reason')}",
        "keep a copy of the log for investigation; see SECURITY.md (audit log)",
    )


def check_things(settings: Settings, platform: str = sys.platform) -> list[Check]:
    from mcp_server.integrations.things.source import wants_sample
    from tools.things.access import full_disk_access_advice
    from tools.things.database import ThingsDatabase, discover_database_path
    from tools.things.errors import DatabaseError

    if wants_sample(settings.things_database):
        return [Check("Things database", "ok", 'the generated sample (things_database = "sample")')]
    if settings.things_database is None and platform != "darwin":
        return [
            Check(
                "Things database",
                "warning",
                f"Things 3 runs only on macOS; on {platform} the daemon serves a generated sample",
                'set things_database = "sample" to say so, or run agent-auth on the Mac that has Things',
            )
        ]
    advice = full_disk_access_advice(os.environ, sys.executable) if platform == "darwin" else ""
    try:
        path = discover_database_path(Path.home(), settings.things_database, access_advice=advice)
        conn = ThingsDatabase(path).connect()
        try:
            row = conn.execute("SELECT 1 FROM TMSettings WHERE uriSchemeAuthenticationToken != '' LIMIT 1").fetchone()
        finally:
            conn.close()
    except DatabaseError as exc:
        return [Check("Things database", "error", str(exc), advice or None)]
    except sqlite3.Error as exc:
        return [Check("Things database", "error", f"cannot read {path}: {exc}", advice or None)]
    found = Check("Things database", "ok", f"{path} (readable)")
    if row is None:
        return [
            found,
            Check(
                "Things URL token",
                "error",
                "Things has no URL-scheme token, so writes (add, update) cannot work",
                "Things > Settings > General > Enable Things URLs > Manage: copy nothing, just enable it",
            ),
        ]
    return [found, Check("Things URL token", "ok", "present (not shown)")]


def _run(argv: list[str], env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str] | None:
    try:
        return subprocess.run(  # noqa: S603 - fixed argv, no shell
            argv, capture_output=True, text=True, timeout=COMMAND_TIMEOUT_SECONDS, check=False, env=env
        )
    except (OSError, subprocess.TimeoutExpired):
        return None


def check_gpg(settings: Settings) -> list[Check]:
    gpg = shutil.which(settings.gpg_binary)
    if gpg is None:
        return [
            Check(
                "gpg",
                "warning" if not settings.gpg_allowed_keys else "error",
                f"{settings.gpg_binary!r} is not on PATH",
                "install GnuPG (apt-get install gnupg; brew install gnupg; or GPG Suite on macOS)",
            )
        ]
    checks = [Check("gpg", "ok", gpg)]
    if not settings.gpg_allowed_keys:
        checks.append(
            Check(
                "allowlisted keys",
                "warning",
                "no signing key is allowlisted: signing refuses every key",
                "set gpg_allowed_keys to your key's full fingerprint (gpg --list-secret-keys --with-colons)",
            )
        )
        return checks
    env = {"PATH": os.environ.get("PATH", ""), "HOME": os.environ.get("HOME", ""), "LANG": "C"}
    if settings.gpg_home is not None:
        env["GNUPGHOME"] = str(settings.gpg_home)
    done = _run([gpg, "--batch", "--with-colons", "--list-secret-keys"], env)
    present = set()
    for line in (done.stdout if done else "").splitlines():
        if line.startswith("fpr:"):
            present.add(line.split(":")[9].upper())
    home = str(settings.gpg_home or "~/.gnupg")
    missing = [f for f in settings.gpg_allowed_keys if f.upper() not in present]
    if missing:
        checks.append(
            Check(
                "allowlisted keys",
                "error",
                f"not among the secret keys in {home}: {', '.join(missing)}",
                "import the key there, or point gpg_home (or GNUPGHOME) at the keyring that holds it",
            )
        )
    else:
        checks.append(Check("allowlisted keys", "ok", f"{len(settings.gpg_allowed_keys)} present in {home}"))
    return checks


def check_git_shim() -> Check:
    git = shutil.which("git")
    if git is None:
        return Check("git signing", "warning", "git is not installed", "install git to sign commits through agent-auth")
    done = _run([git, "config", "--get", "gpg.program"])
    program = done.stdout.strip() if done and done.returncode == 0 else ""
    if Path(program).name == "agent-auth-gpg":
        return Check("git signing", "ok", f"gpg.program = {program}")
    return Check(
        "git signing",
        "warning",
        f"git's gpg.program is {program or 'not set'}, so git signs without agent-auth",
        "agent-auth-gpg --setup --signing-key FINGERPRINT (in a repository), or "
        "git config --global gpg.program agent-auth-gpg",
    )


def check_client() -> Check:
    from mcp_server.client.check import check_login
    from mcp_server.client.credentials import CredentialsError, CredentialStore

    try:
        store = CredentialStore()
        credentials = store.load()
    except CredentialsError as exc:
        return Check("client credentials", "error", exc.message, "agent-auth logout, then log in again")
    if credentials is None:
        return Check(
            "client credentials",
            "warning",
            "no stored credentials (clients on this machine need AGENT_AUTH_TOKEN or a login)",
            "agent-auth token create --scope … --json | agent-auth login",
        )
    result = check_login(credentials)
    status: Status = "ok" if result.usable else "error"
    return Check("client credentials", status, f"{credentials.server_url}: {result.detail}", result.fix)


def check_service() -> Check:
    from mcp_server.cli.app import UserError
    from mcp_server.cli.service_cmds import current_platform, service_state

    try:
        platform = current_platform()
    except UserError as exc:
        return Check("service", "warning", exc.message, "run agent-auth serve under your own supervisor")
    installed, running = service_state(platform)
    if not installed:
        return Check(
            "service",
            "warning",
            "not installed (the daemon runs only while a terminal keeps it)",
            "agent-auth service install",
        )
    if running is None:
        return Check(
            "service",
            "warning",
            f"installed ({platform.unit_path}); the service manager cannot be asked",
            "check it with systemctl --user status agent-auth (Linux) or launchctl list (macOS)",
        )
    if not running:
        return Check(
            "service", "error", f"installed but not running ({platform.log_hint})", "agent-auth service install"
        )
    return Check("service", "ok", f"installed and running ({platform.kind})")


def run_checks(settings: Settings, local_verify: Callable[[], dict[str, Any]]) -> list[Check]:
    status = _daemon_status(settings)
    checks = [check_daemon(settings, status), check_key_store(settings), check_store(settings)]
    checks.append(check_audit(settings, status is not None, local_verify))
    checks += check_things(settings)
    checks += check_gpg(settings)
    checks += [check_git_shim(), check_client(), check_service()]
    return checks
