"""``agent-auth demo``: a self-contained demo home, a demo token family, the daemon, and instructions."""

from __future__ import annotations

import argparse
import json
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from mcp_server.cli.app import Application, UserError

DEMO_SCOPES = {
    "things:read": "allow",
    "things:write": "prompt",
    "gpg:sign": "prompt",
    "gpg:verify": "allow",
}
DEMO_LABEL = "demo"


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser) -> None:
    demo = sub.add_parser(
        "demo",
        help="run the daemon on an isolated demo home with a demo token family and sample data",
        description="Start agent-auth on a self-contained demo home (file key store, sample Things data, a "
        "throwaway GPG key) with a demo token family: things:read=allow, things:write=prompt, gpg:sign=prompt, "
        "gpg:verify=allow. Prints how to connect Claude Code, approve in the TUI, and try allow/prompt/deny "
        "with curl. Nothing outside the demo home is touched. Ctrl-C stops it.",
    )
    demo.add_argument("--home", type=Path, help="demo home (default: a fixed folder under the temp directory)")
    demo.add_argument("--port", type=int, default=9100, help="port (default 9100; falls back to a free one)")
    demo.add_argument("--fresh", action="store_true", help="delete the demo home first")
    demo.set_defaults(handler=cmd_demo)


def _demo_gpg_key(gnupghome: Path) -> str | None:
    """Create (once) a passphrase-less ed25519 signing key in the demo home; return its fingerprint."""
    gpg = shutil.which("gpg")
    if gpg is None:
        return None
    gnupghome.mkdir(parents=True, exist_ok=True, mode=0o700)
    env = {**os.environ, "GNUPGHOME": str(gnupghome)}

    def fingerprint() -> str | None:
        out = subprocess.run(  # noqa: S603 - fixed argv from which(), no shell
            [gpg, "--batch", "--with-colons", "--list-secret-keys"],
            env=env,
            capture_output=True,
            text=True,
            check=False,
        ).stdout
        for line in out.splitlines():
            if line.startswith("fpr:"):
                return line.split(":")[9]
        return None

    found = fingerprint()
    if found is None:
        subprocess.run(  # noqa: S603 - fixed argv from which(), no shell
            [
                gpg,
                "--batch",
                "--passphrase",
                "",
                "--quick-gen-key",
                "agent-auth demo <demo@agent-auth.invalid>",
                "ed25519",
                "sign",
                "never",
            ],
            env=env,
            capture_output=True,
            check=False,
        )
        found = fingerprint()
    return found


def _instructions(url: str, home: Path, tokens: dict[str, Any], fingerprint: str | None) -> list[str]:
    from mcp_server.cli.mcp_config import build_entry, claude_command

    env = f"AGENT_AUTH_HOME={shlex.quote(str(home))}"
    access = tokens["access_token"]
    validate = f"curl -s -X POST {url}/agent-auth/v1/validate -H 'content-type: application/json' -d"
    bindir = Path(sys.executable).parent
    lines = [
        "",
        "In another terminal, put agent-auth's commands on PATH first:",
        f"  export PATH={shlex.quote(str(bindir))}:$PATH",
        "",
        "The demo family 'demo' holds: " + ", ".join(f"{k}={v}" for k, v in DEMO_SCOPES.items()),
        f"Its tokens are in {home}/demo-tokens.json (0600) and stored as this home's client credentials.",
        "",
        "Watch and approve requests (another terminal):",
        f"  {env} agent-auth tui",
        "",
        "Try allow, prompt and deny with curl:",
        f'  {validate} \'{{"token": "{access}", "required_scope": "things:read"}}\'   # allow',
        f'  {validate} \'{{"token": "{access}", "required_scope": "things:write", '
        '"description": "demo write"}\'   # waits for approval in the TUI',
        f'  {validate} \'{{"token": "{access}", "required_scope": "calendar:read"}}\'   # deny (403)',
        "",
        "Connect Claude Code over HTTP (tokens refresh through the headersHelper):",
        "  " + claude_command("agent-auth", build_entry("http", url, environ={"AGENT_AUTH_HOME": str(home)})),
        "or over stdio:",
        "  " + claude_command("agent-auth", build_entry("stdio", url, environ={"AGENT_AUTH_HOME": str(home)})),
        "",
        "Read the sample Things data from the command line:",
        f"  {env} things-cli todos list --list today",
    ]
    if fingerprint:
        lines += [
            "",
            f"Sign a git commit with the demo key {fingerprint} (waits for approval in the TUI):",
            "  git init /tmp/agent-auth-demo-repo && cd /tmp/agent-auth-demo-repo",
            "  git config user.name 'agent-auth demo' && git config user.email demo@agent-auth.invalid",
            f"  {env} git -c gpg.program={shlex.quote(str(bindir / 'agent-auth-gpg'))} "
            f"-c user.signingkey={fingerprint} commit --allow-empty -S -m 'signed by an agent'",
            f"  GNUPGHOME={home}/gnupg git verify-commit HEAD",
        ]
    lines += ["", "Ctrl-C stops the demo; run it again to continue with the same home (--fresh starts over)."]
    return lines


def demo_environment(home: Path, gpg_fingerprint: str | None) -> dict[str, str]:
    """The settings the demo runs on. It never touches the person's real Things library, keyring or gpg home,
    on any platform: its own sample database, file stores, and HOME pointed into the demo home so nothing is
    discovered from the real one."""
    env = {
        "AGENT_AUTH_HOME": str(home),
        "HOME": str(home),
        "AGENT_AUTH_THINGS_DATABASE": "sample",
        "AGENT_AUTH_KEY_STORE": "file",
        "AGENT_AUTH_CREDENTIALS_STORE": "file",
    }
    if gpg_fingerprint:
        env["AGENT_AUTH_GPG_HOME"] = str(home / "gnupg")
        env["AGENT_AUTH_GPG_ALLOWED_KEYS"] = gpg_fingerprint
    return env


def _write_demo_config(home: Path, gpg_fingerprint: str | None) -> None:
    """The demo's settings in its home's config file too, not only in this process's environment: every
    command run with ``AGENT_AUTH_HOME=<home>`` (``gpg keys``, ``doctor``, the TUI) then sees the same setup."""
    lines = ["# written by agent-auth demo", 'things_database = "sample"', 'key_store = "file"']
    if gpg_fingerprint:
        lines += [
            f"gpg_home = {json.dumps(str(home / 'gnupg'))}",
            f"gpg_allowed_keys = [{json.dumps(gpg_fingerprint)}]",
        ]
    config = home / "config" / "config.toml"
    config.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    config.write_text("\n".join(lines) + "\n", encoding="utf-8")


def cmd_demo(app: Application, args: argparse.Namespace) -> int:
    from mcp_server.daemon.home_lock import HomeBusyError, serving

    home = (args.home or Path(tempfile.gettempdir()) / f"agent-auth-demo-{os.getuid()}").absolute()
    try:
        home.mkdir(parents=True, exist_ok=True, mode=0o700)
        os.chmod(home, 0o700)
    except OSError as exc:
        raise UserError(f"cannot use {home} as the demo home: {exc.strerror}", code="invalid_home") from None
    os.environ["AGENT_AUTH_HOME"] = str(home)
    os.environ["AGENT_AUTH_KEY_STORE"] = "file"
    os.environ["AGENT_AUTH_CREDENTIALS_STORE"] = "file"
    data_dir, state_path = home / "data", home / "run" / "daemon.json"
    try:
        # Before anything is touched: a running demo on this home keeps its tokens, files and port.
        if args.fresh:
            with serving(data_dir, state_path):
                shutil.rmtree(home)
            home.mkdir(parents=True, exist_ok=True, mode=0o700)
        with serving(data_dir, state_path):
            return _run_demo(app, args, home)
    except HomeBusyError as exc:
        raise UserError(str(exc), code=exc.code) from None


def _run_demo(app: Application, args: argparse.Namespace, home: Path) -> int:
    fingerprint = _demo_gpg_key(home / "gnupg")
    os.environ.update(demo_environment(home, fingerprint))
    _write_demo_config(home, fingerprint)

    from auth.scopes import validate_scope_map
    from mcp_server.composition import integrations
    from mcp_server.daemon.compose import serve_forever
    from mcp_server.daemon.serve import bind_socket
    from mcp_server.settings import SettingsError, load_settings

    port = args.port
    try:
        bind_socket("127.0.0.1", port).close()
    except OSError:
        sys.stderr.write(f"port {port} is busy; using a free port instead\n")
        port = 0
    try:
        settings = load_settings(overrides={"port": port, "host": "127.0.0.1"})
    except SettingsError as exc:
        raise UserError(str(exc), code=exc.code) from None

    authority = app.authority()
    for family in authority.list_families(include_revoked=False):
        if family.label == DEMO_LABEL:
            authority.revoke_family(family.id, reason="replaced by a new demo run", actor="demo")
    issued = authority.create_family(validate_scope_map(DEMO_SCOPES), label=DEMO_LABEL, actor="demo")
    tokens = issued.to_json(authority.clock())
    app.close()
    token_file = home / "demo-tokens.json"
    fd = os.open(token_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump(tokens, fh, indent=2)

    def announce(url: str, lines: list[str]) -> None:
        from mcp_server.client.credentials import Credentials, CredentialStore

        CredentialStore().save(
            Credentials(
                url, tokens["access_token"], tokens["refresh_token"], issued.access_expires_at, issued.family_id
            )
        )
        sys.stderr.write(f"agent-auth demo running at {url}  (home {home})\n")
        for line in lines:
            sys.stderr.write(f"  {line}\n")
        for line in _instructions(url, home, tokens, fingerprint):
            sys.stderr.write(f"{line}\n")
        sys.stderr.flush()

    import anyio

    from mcp_server.daemon.serve import ListenError

    try:
        anyio.run(serve_forever, settings, announce, integrations())
    except ListenError as exc:
        raise UserError(exc.strerror or str(exc), code=exc.code) from None
    finally:
        gpgconf = shutil.which("gpgconf")
        if fingerprint and gpgconf:  # the demo's own gpg-agent must not outlive the demo
            subprocess.run(  # noqa: S603 - fixed argv from which(), no shell
                [gpgconf, "--homedir", str(home / "gnupg"), "--kill", "gpg-agent"], capture_output=True, check=False
            )
    return 0
