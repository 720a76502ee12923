"""The ``agent-auth`` command end to end, as a subprocess in an isolated home (issue 2's "Done when")."""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import stat
from pathlib import Path

import pytest
from cli_test_support import isolated_env, run_cli, run_cli_many

from auth.bootstrap import StorePaths, open_authority
from auth.keys import FileKeyStore
from auth.scopes import Tier
from mcp_server.cli.main import build_parser, main
from mcp_server.settings import Settings, load_settings

UNKNOWN_FAMILY = "f" * 32


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return isolated_env(tmp_path)


def _settings(env: dict[str, str]) -> Settings:
    return load_settings(env)


def _secrets(issued: dict[str, str]) -> list[str]:
    tokens = [issued["access_token"], issued["refresh_token"]]
    return tokens + [token.rsplit("_", 1)[1] for token in tokens]


def _assert_no_secret_in(text: str, secrets: list[str]) -> None:
    for secret in secrets:
        assert secret not in text


def test_token_lifecycle_from_create_to_verified_audit_log(env: dict[str, str]) -> None:
    """create prints the pair once; list/show/modify/rotate/revoke behave; the audit log verifies."""
    created = run_cli(env, "token", "create", "--scope", "things:read=allow", "--label", "demo", "--json")
    assert created.returncode == 0, created.stderr
    issued = created.json()
    assert {"family_id", "access_token", "refresh_token"} <= issued.keys()
    assert issued["access_token"].startswith("aa_") and issued["refresh_token"].startswith("rt_")
    assert issued["scopes"] == {"things:read": "allow"}
    assert issued["label"] == "demo"
    family_id = issued["family_id"]
    stderr_seen = [created.stderr]

    listed = run_cli(env, "token", "list", "--json")
    assert listed.returncode == 0
    families = listed.json()["families"]
    assert [(f["family_id"], f["label"], f["status"], f["scopes"]) for f in families] == [
        (family_id, "demo", "active", {"things:read": "allow"})
    ]
    _assert_no_secret_in(listed.stdout, _secrets(issued))

    modified = run_cli(
        env, "token", "modify", family_id, "--add-scope", "gpg:sign=prompt", "--set-tier", "things:read=deny", "--json"
    )
    assert modified.returncode == 0, modified.stderr
    assert modified.json()["scopes"] == {"gpg:sign": "prompt", "things:read": "deny"}
    shown = run_cli(env, "token", "show", family_id, "--json")
    assert shown.returncode == 0
    assert shown.json()["scopes"] == {"gpg:sign": "prompt", "things:read": "deny"}
    assert shown.json()["access_expires_at"] is not None

    rotated = run_cli(env, "token", "rotate", family_id, "--json")
    assert rotated.returncode == 0, rotated.stderr
    replacement = rotated.json()
    assert replacement["family_id"] != family_id
    assert replacement["scopes"] == {"gpg:sign": "prompt", "things:read": "deny"}
    rotate_again = run_cli(env, "token", "rotate", family_id, "--json")
    assert rotate_again.returncode == 1
    assert rotate_again.error_code() == "family_revoked"

    revoked = run_cli(env, "token", "revoke", replacement["family_id"], "--json")
    assert revoked.returncode == 0
    assert revoked.json()["revoked"] is True
    revoked_again = run_cli(env, "token", "revoke", replacement["family_id"], "--json")
    assert revoked_again.returncode == 0
    assert revoked_again.json()["revoked_at"] == revoked.json()["revoked_at"]

    statuses = {f["family_id"]: f for f in run_cli(env, "token", "list", "--json").json()["families"]}
    assert statuses[family_id]["status"] == "revoked"
    assert statuses[family_id]["rotated_to"] == replacement["family_id"]
    assert statuses[replacement["family_id"]]["status"] == "revoked"

    verified = run_cli(env, "verify-audit", "--json")
    assert verified.returncode == 0, verified.stdout + verified.stderr
    report = verified.json()
    assert report["ok"] is True
    assert report["entries"] == 4  # create, modify, rotate, revoke (refusals write nothing)
    stderr_seen += [
        listed.stderr,
        modified.stderr,
        shown.stderr,
        rotated.stderr,
        rotate_again.stderr,
        revoked.stderr,
        verified.stderr,
    ]

    settings = _settings(env)
    audit_text = settings.audit_log_path.read_text()
    events = [json.loads(line)["event"] for line in audit_text.splitlines()]
    assert events.count("token.create") == 1
    assert events.count("token.rotate") == 1
    assert events.count("token.revoke") == 1
    for secrets in (_secrets(issued), _secrets(replacement)):
        _assert_no_secret_in(audit_text, secrets)
        _assert_no_secret_in("".join(stderr_seen), secrets)
    key_file = settings.key_file_path
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert key_file.parent != settings.database_path.parent


def test_text_mode_create_prints_tokens_on_stdout_and_only_a_warning_on_stderr(env: dict[str, str]) -> None:
    result = run_cli(env, "--verbose", "token", "create", "--scope", "things:read", "--label", "demo")
    assert result.returncode == 0, result.stderr
    access = next(word for word in result.stdout.split() if word.startswith("aa_"))
    refresh = next(word for word in result.stdout.split() if word.startswith("rt_"))
    assert result.stderr.strip()
    _assert_no_secret_in(result.stderr, [access, refresh, access[-64:], refresh[-64:]])


def _populate(env: dict[str, str], *, revoke: bool = False) -> dict[str, str]:
    """Create a family in process, through the same paths and key file the command uses (quicker than a run)."""
    settings = _settings(env)
    authority = open_authority(
        StorePaths(settings.database_path, settings.audit_log_path), FileKeyStore(settings.key_file_path)
    )
    try:
        issued = authority.create_family({"things:read": Tier.ALLOW}, label="demo")
        if revoke:
            authority.revoke_family(issued.family_id)
    finally:
        authority.audit.close()
        authority.db.dispose()
    return {"family_id": issued.family_id, "access_token": issued.access_token, "refresh_token": issued.refresh_token}


def _tamper_home(env: dict[str, str]) -> Path:
    _populate(env, revoke=True)
    return _settings(env).audit_log_path


def test_verify_audit_fails_after_one_byte_of_the_log_is_changed(env: dict[str, str]) -> None:
    log_path = _tamper_home(env)
    assert run_cli(env, "verify-audit").returncode == 0
    original = log_path.read_bytes()
    position = original.index(b'"token.create"') + 3
    log_path.write_bytes(original[:position] + b"X" + original[position + 1 :])
    result = run_cli(env, "verify-audit", "--json")
    assert result.returncode == 1
    assert result.json()["ok"] is False
    assert result.json()["first_bad_line"] == 1


def test_verify_audit_fails_after_the_last_line_is_removed(env: dict[str, str]) -> None:
    log_path = _tamper_home(env)
    lines = log_path.read_bytes().splitlines(keepends=True)
    assert len(lines) == 2
    log_path.write_bytes(lines[0])
    result = run_cli(env, "verify-audit", "--json")
    assert result.returncode == 1
    assert result.json()["first_bad_line"] == 2


def test_verify_audit_exits_2_when_it_cannot_check(env: dict[str, str]) -> None:
    """Keys gone while the store holds families: the log cannot be checked (documented exit 2)."""
    _populate(env)
    _settings(env).key_file_path.unlink()
    result = run_cli(env, "verify-audit", "--json")
    assert result.returncode == 2
    assert result.error_code() == "keys_missing"


def test_lost_keys_are_reported_with_exit_4(env: dict[str, str]) -> None:
    _populate(env)
    _settings(env).key_file_path.unlink()
    result = run_cli(env, "token", "list", "--json")
    assert result.returncode == 4
    assert result.error_code() == "keys_missing"
    assert not _settings(env).key_file_path.exists()


def test_keyring_mode_without_a_backend_exits_4_and_says_so(env: dict[str, str]) -> None:
    keyring_env = {
        **env,
        "AGENT_AUTH_KEY_STORE": "keyring",
        "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring",
    }
    result = run_cli(keyring_env, "token", "list", "--json")
    assert result.returncode == 4
    assert result.error_code() == "keyring_unavailable"
    assert not _settings(env).key_file_path.exists()


def test_errors_exit_with_their_documented_codes(env: dict[str, str]) -> None:
    issued = _populate(env)
    cases: list[tuple[list[str], int, str | None]] = [
        (["token", "show", UNKNOWN_FAMILY, "--json"], 3, "family_not_found"),
        (["token", "revoke", UNKNOWN_FAMILY, "--json"], 3, "family_not_found"),
        (["token", "show", "not-a-family-id", "--json"], 3, "family_not_found"),  # no such id, label or prefix
        (["token", "create", "--scope", "agent-auth:admin", "--json"], 2, "reserved_scope"),
        (["token", "create", "--scope", "things:read=sometimes", "--json"], 2, "invalid_scope"),
        (["token", "modify", issued["family_id"], "--add-scope", "agent-auth:admin", "--json"], 2, "reserved_scope"),
        (["token", "modify", issued["family_id"], "--set-tier", "things:read", "--json"], 2, "invalid_scope"),
        (["token", "create", "--json"], 2, None),
    ]
    results = run_cli_many(env, [args for args, _, _ in cases])
    for (args, exit_code, code), result in zip(cases, results, strict=True):
        assert result.returncode == exit_code, (args, result.stderr)
        if code is not None:
            assert result.error_code() == code, args
        _assert_no_secret_in(result.stderr, _secrets(issued))
    text_error = run_cli(env, "token", "show", UNKNOWN_FAMILY)
    assert text_error.returncode == 3
    assert text_error.stderr.startswith("agent-auth: error:")


def test_json_before_the_command_is_honoured(env: dict[str, str]) -> None:
    _populate(env)
    result = run_cli(env, "--json", "token", "list")
    assert result.returncode == 0, result.stderr
    assert len(result.json()["families"]) == 1


def test_version_is_the_installed_distribution_version(env: dict[str, str]) -> None:
    result = run_cli(env, "--version")
    assert result.returncode == 0
    assert result.stdout.strip() == f"agent-auth {importlib.metadata.version('agent-auth')}"


def _all_commands() -> list[list[str]]:
    """Every command path of the parser, found by walking its subparsers (so new commands are covered)."""
    found: list[list[str]] = []

    def walk(parser: argparse.ArgumentParser, path: list[str]) -> None:
        found.append(path)
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for name, child in action.choices.items():
                    walk(child, [*path, name])

    walk(build_parser(), [])
    return found


def test_top_level_help_runs_without_touching_state(env: dict[str, str], tmp_path: Path) -> None:
    result = run_cli(env, "--help")
    assert result.returncode == 0
    assert result.stdout.startswith("usage: agent-auth")
    for command in ("token", "verify-audit"):
        assert command in result.stdout
    assert not (tmp_path / "data").exists(), "--help must not open the store"


def test_every_command_has_help(capsys: pytest.CaptureFixture[str]) -> None:
    """In process (the parser is the same object the subprocess builds) to keep the suite quick."""
    commands = _all_commands()
    assert ["token", "create"] in commands and ["verify-audit"] in commands
    for command in commands:
        with pytest.raises(SystemExit) as excinfo:
            main([*command, "--help"])
        assert excinfo.value.code == 0, command
        out = capsys.readouterr().out
        assert out.startswith(f"usage: agent-auth {' '.join(command)}".rstrip()), command


def test_no_help_page_shows_raw_markup(capsys: pytest.CaptureFixture[str]) -> None:
    """Help is for people: no reST (``code``, :class:) and no docstring-only jargon leaks into --help."""
    for command in _all_commands():
        with pytest.raises(SystemExit):
            main([*command, "--help"])
        out = capsys.readouterr().out
        for markup in ("``", ":class:", ":func:", ":meth:"):
            assert markup not in out, (command, markup)
