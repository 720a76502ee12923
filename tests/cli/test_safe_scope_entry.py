"""Scope entry that fails safe: bare scopes are prompt, unknown scopes are refused, families by label or prefix."""

from __future__ import annotations

from pathlib import Path

import pytest
from cli_test_support import isolated_env, run_cli

EXIT_USAGE = 2
EXIT_NOT_FOUND = 3


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return isolated_env(tmp_path)


def test_a_scope_without_a_tier_is_prompt(env: dict[str, str]) -> None:
    created = run_cli(env, "--json", "token", "create", "--scope", "things:read")
    assert created.returncode == 0, created.stderr
    assert created.json()["scopes"] == {"things:read": "prompt"}


@pytest.mark.parametrize("scope", ["things:raed", "calendar:read"])
def test_an_unknown_scope_is_refused_with_the_known_ones(env: dict[str, str], scope: str) -> None:
    done = run_cli(env, "--json", "token", "create", "--scope", f"{scope}=allow")
    assert done.returncode == EXIT_USAGE
    assert done.error_code() == "unknown_scope"
    assert "things:read" in done.stderr and "gpg:sign" in done.stderr
    assert run_cli(env, "--json", "token", "list").json()["families"] == []


def test_a_typo_gets_a_suggestion(env: dict[str, str]) -> None:
    done = run_cli(env, "token", "create", "--scope", "things:raed")
    assert "did you mean things:read" in done.stderr


def test_allow_unknown_scope_lets_an_integration_that_is_not_loaded_have_its_scope(env: dict[str, str]) -> None:
    done = run_cli(env, "--json", "token", "create", "--scope", "calendar:read=allow", "--allow-unknown-scope")
    assert done.returncode == 0, done.stderr
    assert done.json()["scopes"] == {"calendar:read": "allow"}


def test_modify_refuses_an_unknown_added_scope(env: dict[str, str]) -> None:
    family = run_cli(env, "--json", "token", "create", "--scope", "things:read", "--label", "laptop").json()
    done = run_cli(env, "--json", "token", "modify", family["family_id"], "--add-scope", "things:wirte")
    assert done.returncode == EXIT_USAGE
    assert done.error_code() == "unknown_scope"


def test_families_are_addressable_by_label_and_by_a_unique_prefix(env: dict[str, str]) -> None:
    family = run_cli(env, "--json", "token", "create", "--scope", "things:read", "--label", "laptop").json()
    family_id = family["family_id"]

    by_label = run_cli(env, "--json", "token", "show", "laptop")
    by_prefix = run_cli(env, "--json", "token", "show", family_id[:12])

    assert by_label.returncode == 0, by_label.stderr
    assert by_label.json()["family_id"] == family_id
    assert by_prefix.returncode == 0, by_prefix.stderr
    assert by_prefix.json()["family_id"] == family_id
    revoked = run_cli(env, "--json", "token", "revoke", family_id[:12])
    assert revoked.returncode == 0, revoked.stderr
    assert revoked.json()["family_id"] == family_id


def test_an_ambiguous_label_is_refused_naming_the_candidates(env: dict[str, str]) -> None:
    first = run_cli(env, "--json", "token", "create", "--scope", "things:read", "--label", "twin").json()
    second = run_cli(env, "--json", "token", "create", "--scope", "things:read", "--label", "twin").json()

    done = run_cli(env, "--json", "token", "revoke", "twin")

    assert done.returncode == EXIT_USAGE
    assert done.error_code() == "ambiguous_family"
    assert first["family_id"][:12] in done.stderr and second["family_id"][:12] in done.stderr


def test_a_family_reference_that_matches_nothing_is_not_found(env: dict[str, str]) -> None:
    done = run_cli(env, "--json", "token", "show", "nobody")
    assert done.returncode == EXIT_NOT_FOUND
