"""``agent-auth service install|uninstall|status``: run the daemon as a per-user service.

Linux: a systemd user unit (``~/.config/systemd/user/agent-auth.service``, logs in the journal). macOS: a
launchd agent (``~/Library/LaunchAgents/dev.agent-auth.daemon.plist``, logs in ``~/Library/Logs/agent-auth``).
Both restart the daemon when it fails, except for failures a restart cannot fix.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from mcp_server.cli.app import EXIT_FAILED, Application, UserError
from mcp_server.service_units import LAUNCHD_LABEL, SYSTEMD_UNIT_NAME, launchd_plist, systemd_unit

COMMAND_TIMEOUT_SECONDS = 20


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser) -> None:
    service = sub.add_parser(
        "service",
        help="run the daemon as a per-user service (systemd on Linux, launchd on macOS)",
        description="Install, remove or inspect a per-user service that keeps 'agent-auth serve' running: a "
        "systemd user unit on Linux (logs: journalctl --user -u agent-auth), a launchd agent on macOS (logs: "
        "~/Library/Logs/agent-auth/daemon.log). It restarts the daemon when it fails.",
    )
    ssub = service.add_subparsers(dest="service_command", required=True, metavar="ACTION")
    install = ssub.add_parser("install", parents=[common], help="write the service file, then enable and start it")
    install.add_argument("--no-start", action="store_true", help="only write the service file")
    install.add_argument("--print", action="store_true", help="print the service file and change nothing")
    install.set_defaults(handler=cmd_install)
    uninstall = ssub.add_parser("uninstall", parents=[common], help="stop the service and remove its file")
    uninstall.set_defaults(handler=cmd_uninstall)
    status = ssub.add_parser("status", parents=[common], help="is the service installed and running?")
    status.set_defaults(handler=cmd_status)


@dataclass(frozen=True)
class ServicePlatform:
    kind: str  # "systemd" | "launchd"
    unit_path: Path
    log_hint: str


def current_platform(env: dict[str, str] | None = None) -> ServicePlatform:
    env = dict(os.environ) if env is None else env
    home = Path(env.get("HOME") or Path.home())
    if sys.platform == "darwin":
        return ServicePlatform(
            "launchd",
            home / "Library" / "LaunchAgents" / f"{LAUNCHD_LABEL}.plist",
            f"logs: {home}/Library/Logs/agent-auth/daemon.log",
        )
    if sys.platform.startswith("linux"):
        config = env.get("XDG_CONFIG_HOME")
        base = Path(config) if config and os.path.isabs(config) else home / ".config"
        return ServicePlatform(
            "systemd", base / "systemd" / "user" / SYSTEMD_UNIT_NAME, "logs: journalctl --user -u agent-auth"
        )
    raise UserError(f"no service support on {sys.platform}", code="unsupported_platform")


def _executable() -> Path:
    beside = Path(sys.executable).with_name("agent-auth")
    if beside.exists():
        return beside
    found = shutil.which("agent-auth")
    if found is None:
        raise UserError(
            "cannot find the agent-auth executable to run as a service",
            code="executable_not_found",
            hint="install it for your user first: uv tool install . (or pipx install .)",
        )
    return Path(found).absolute()


def service_file_text(platform: ServicePlatform) -> bytes:
    executable = _executable()
    env = dict(os.environ)
    if platform.kind == "launchd":
        return launchd_plist(executable, env, Path(env.get("HOME") or Path.home()) / "Library" / "Logs" / "agent-auth")
    path = ":".join(dict.fromkeys([str(executable.parent), "/usr/local/bin", "/usr/bin", "/bin"]))
    return systemd_unit(executable, env, path).encode()


def _run(argv: list[str]) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(  # noqa: S603 - fixed argv, no shell
            argv, capture_output=True, text=True, timeout=COMMAND_TIMEOUT_SECONDS, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return subprocess.CompletedProcess(argv, 127, "", str(exc))


def _start_commands(platform: ServicePlatform) -> list[list[str]]:
    if platform.kind == "launchd":
        return [["launchctl", "bootstrap", f"gui/{os.getuid()}", str(platform.unit_path)]]
    return [["systemctl", "--user", "daemon-reload"], ["systemctl", "--user", "enable", "--now", SYSTEMD_UNIT_NAME]]


def _stop_commands(platform: ServicePlatform) -> list[list[str]]:
    if platform.kind == "launchd":
        return [["launchctl", "bootout", f"gui/{os.getuid()}/{LAUNCHD_LABEL}"]]
    return [["systemctl", "--user", "disable", "--now", SYSTEMD_UNIT_NAME]]


def cmd_install(app: Application, args: argparse.Namespace) -> int:
    platform = current_platform()
    text = service_file_text(platform)
    if args.print:
        sys.stdout.write(text.decode())
        return 0
    platform.unit_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = platform.unit_path.with_name(f".{platform.unit_path.name}.tmp")
    tmp.write_bytes(text)
    os.replace(tmp, platform.unit_path)
    started: bool | None = None
    failure = ""
    if not args.no_start:
        for argv in _start_commands(platform):
            done = _run(argv)
            if done.returncode != 0:
                failure = f"'{' '.join(argv)}' failed: {(done.stderr or done.stdout).strip()}"
                break
        started = not failure
    app.emit(
        {"installed": str(platform.unit_path), "kind": platform.kind, "started": started},
        f"wrote {platform.unit_path} ({platform.kind}); "
        + ("started" if started else "not started" if started is None else "could not start it")
        + f"\n{platform.log_hint}",
    )
    if failure:
        start = " && ".join(" ".join(a) for a in _start_commands(platform))
        raise UserError(failure, code="service_start_failed", hint=f"start it with: {start}")
    return 0


def cmd_uninstall(app: Application, args: argparse.Namespace) -> int:
    platform = current_platform()
    if platform.unit_path.exists():
        for argv in _stop_commands(platform):
            _run(argv)  # stopping a service that is not running is not an error
        platform.unit_path.unlink()
        if platform.kind == "systemd":
            _run(["systemctl", "--user", "daemon-reload"])
        app.emit({"removed": str(platform.unit_path)}, f"stopped the service and removed {platform.unit_path}")
    else:
        app.emit({"removed": None}, "no agent-auth service is installed")
    return 0


def service_state(platform: ServicePlatform) -> tuple[bool, bool | None]:
    """(installed, running); running is None when the service manager cannot be asked."""
    installed = platform.unit_path.exists()
    if platform.kind == "launchd":
        done = _run(["launchctl", "print", f"gui/{os.getuid()}/{LAUNCHD_LABEL}"])
        if done.returncode == 127:
            return installed, None
        return installed, done.returncode == 0 and "state = running" in done.stdout
    done = _run(["systemctl", "--user", "is-active", SYSTEMD_UNIT_NAME])
    if done.returncode == 127 or "Failed to connect" in done.stderr:
        return installed, None
    return installed, done.stdout.strip() == "active"


def cmd_status(app: Application, args: argparse.Namespace) -> int:
    platform = current_platform()
    installed, running = service_state(platform)
    shown = {True: "running", False: "not running", None: "unknown (cannot ask the service manager)"}[running]
    app.emit(
        {"kind": platform.kind, "unit": str(platform.unit_path), "installed": installed, "running": running},
        f"{platform.kind} service {platform.unit_path}: "
        + ("installed" if installed else "not installed")
        + f", {shown}\n{platform.log_hint}",
    )
    return 0 if installed and running else EXIT_FAILED
