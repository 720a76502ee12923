"""The GPG passphrase store (keyring or 0600 file) and ``agent-auth gpg passphrase|keys``."""

from __future__ import annotations

import argparse
import json
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from auth.keys import KeyStoreKind
from mcp_server.cli import gpg_cmds
from mcp_server.cli.app import Application, UserError
from mcp_server.integrations.gpg import passphrases as gpg_passphrases
from mcp_server.integrations.gpg.passphrases import (
    PASSPHRASE_FILE,
    FilePassphrases,
    KeyringPassphrases,
    PassphraseStoreError,
    select_passphrase_store,
)
from mcp_server.settings import load_settings
from tests.integrations.gpg_fixtures import GpgKeys, gpg_keys
from tests.support.daemon import isolated_env

FINGERPRINT = "A" * 40
SECRET = "s3cret passphrase"


class DictKeyring:
    """A keyring backend double: (service, user) → password."""

    def __init__(self) -> None:
        self.entries: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, user: str) -> str | None:
        return self.entries.get((service, user))

    def set_password(self, service: str, user: str, password: str) -> None:
        self.entries[(service, user)] = password

    def delete_password(self, service: str, user: str) -> None:
        if (service, user) not in self.entries:
            raise KeyError(user)
        del self.entries[(service, user)]


@pytest.fixture(scope="module")
def keys() -> Iterator[GpgKeys]:
    with gpg_keys() as made:
        yield made


@pytest.fixture
def cli(tmp_path: Path, keys: GpgKeys, capsys: pytest.CaptureFixture[str]) -> Iterator[Any]:
    """``cli("passphrase", "list")`` runs an ``agent-auth gpg`` command in --json mode and returns its JSON."""
    with isolated_env(tmp_path / "home") as env:
        settings = load_settings(env=env, overrides={"gpg_home": keys.home, "gpg_allowed_keys": (keys.alice,)})
        common = argparse.ArgumentParser(add_help=False)
        parser = argparse.ArgumentParser(prog="agent-auth")
        gpg_cmds.register(parser.add_subparsers(dest="command", required=True), common)

        def run(*argv: str) -> Any:
            args = parser.parse_args(["gpg", *argv])
            assert args.handler(Application(json_output=True, _settings=settings), args) == 0
            return json.loads(capsys.readouterr().out)

        run.settings = settings  # type: ignore[attr-defined]
        yield run


def test_passphrase_set_stores_it_in_a_private_file_and_list_shows_only_fingerprints(
    cli: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(gpg_cmds.getpass, "getpass", lambda prompt="": SECRET)
    stored = cli("passphrase", "set", FINGERPRINT.lower())
    listed = cli("passphrase", "list")
    path = cli.settings.config_dir / PASSPHRASE_FILE
    assert stored["fingerprint"] == FINGERPRINT and stored["allowed"] is False
    assert listed["fingerprints"] == [FINGERPRINT]
    assert SECRET not in json.dumps(listed) and SECRET not in json.dumps(stored)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert FilePassphrases(path).passphrase_for(FINGERPRINT) == SECRET.encode()
    assert cli("passphrase", "clear", FINGERPRINT)["removed"] is True
    assert cli("passphrase", "list")["fingerprints"] == []


def test_passphrase_set_refuses_two_different_entries_and_stores_nothing(
    cli: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    answers = iter(["first", "second"])
    monkeypatch.setattr(gpg_cmds.getpass, "getpass", lambda prompt="": next(answers))
    with pytest.raises(UserError) as raised:
        cli("passphrase", "set", FINGERPRINT)
    assert raised.value.code == "passphrase_mismatch"
    assert cli("passphrase", "list")["fingerprints"] == []


def test_passphrase_commands_refuse_a_short_key_id(cli: Any) -> None:
    with pytest.raises(UserError) as raised:
        cli("passphrase", "clear", "DEADBEEF")
    assert raised.value.code == "short_key_id"


def test_gpg_keys_lists_the_allowlist_against_gnupghome(cli: Any, keys: GpgKeys) -> None:
    listed = cli("keys")
    assert listed["keys"] == [
        {
            "fingerprint": keys.alice,
            "in_gnupghome": True,
            "user_ids": ["Alice Example <alice@example.org>"],
            "algorithm": "ed25519",
        }
    ]


def test_the_keyring_store_keeps_one_entry_per_key_and_an_index() -> None:
    backend = DictKeyring()
    store = KeyringPassphrases(backend)
    store.set(FINGERPRINT.lower(), SECRET)
    store.set("B" * 40, "other")
    assert store.fingerprints() == [FINGERPRINT, "B" * 40]
    assert backend.entries[("agent-auth-gpg", FINGERPRINT)] == SECRET
    assert store.passphrase_for(FINGERPRINT.lower()) == SECRET.encode()
    assert store.clear(FINGERPRINT) is True and store.clear(FINGERPRINT) is False
    assert store.fingerprints() == ["B" * 40] and store.passphrase_for(FINGERPRINT) is None
    assert SECRET not in repr(store)


def test_the_store_follows_the_key_store_setting(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(gpg_passphrases, "real_keyring_backend", lambda: None)
    assert isinstance(select_passphrase_store(KeyStoreKind.FILE, tmp_path), FilePassphrases)
    assert isinstance(select_passphrase_store(KeyStoreKind.AUTO, tmp_path), FilePassphrases)
    assert isinstance(select_passphrase_store(KeyStoreKind.AUTO, tmp_path, DictKeyring()), KeyringPassphrases)
    with pytest.raises(PassphraseStoreError) as raised:
        select_passphrase_store(KeyStoreKind.KEYRING, tmp_path)
    assert raised.value.code == "keyring_unavailable"
