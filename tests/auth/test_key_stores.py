"""Key stores (file and keyring), their selection, and detecting lost or foreign keys."""

from __future__ import annotations

import logging
import stat
from pathlib import Path

import pytest
from auth_test_support import close_authority

from auth import keys as keys_module
from auth.bootstrap import StorePaths, open_authority
from auth.errors import KeyMismatchError, KeyringUnavailableError, KeysMissingError, KeyStoreError
from auth.keys import (
    KEYRING_ENTRY,
    KEYRING_SERVICE,
    FileKeyStore,
    KeyMaterial,
    KeyringKeyStore,
    KeyStoreKind,
    select_key_store,
)
from auth.scopes import Tier
from mcp_server.settings import load_settings


class FakeKeyring:
    """The three calls agent-auth makes of a keyring backend, kept in a dict."""

    def __init__(self) -> None:
        self.passwords: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.passwords.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.passwords[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        del self.passwords[(service, username)]


class BrokenKeyring(FakeKeyring):
    def get_password(self, service: str, username: str) -> str | None:
        raise RuntimeError("the keyring daemon is locked")


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def no_keyring_backend(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(keys_module, "real_keyring_backend", lambda: None)


def test_file_key_store_is_0600_in_its_own_0700_directory_apart_from_the_database(tmp_path: Path) -> None:
    settings = load_settings(
        {
            "HOME": str(tmp_path / "home"),
            "XDG_DATA_HOME": str(tmp_path / "data"),
            "XDG_STATE_HOME": str(tmp_path / "state"),
            "XDG_CONFIG_HOME": str(tmp_path / "config"),
        }
    )
    store = select_key_store(KeyStoreKind.FILE, settings.key_file_path)
    assert isinstance(store, FileKeyStore)
    material = KeyMaterial.generate()
    store.save(material)
    assert _mode(settings.key_file_path) == 0o600
    assert _mode(settings.key_file_path.parent) == 0o700
    key_dir = settings.key_file_path.parent
    db_dir = settings.database_path.parent
    assert key_dir != db_dir
    assert db_dir not in key_dir.parents and key_dir not in db_dir.parents
    loaded = store.load()
    assert loaded is not None and loaded.fingerprint() == material.fingerprint()


def test_file_key_store_repairs_a_world_readable_key_file(key_store: FileKeyStore) -> None:
    key_store.save(KeyMaterial.generate())
    key_store.path.chmod(0o644)
    assert key_store.load() is not None
    assert _mode(key_store.path) == 0o600


def test_a_corrupt_key_file_is_a_key_store_error(key_store: FileKeyStore) -> None:
    key_store.save(KeyMaterial.generate())
    for content in ["not json", '{"signing": "AAAA", "audit": "AAAA", "encryption": {"1": "AAAA"}}', "[]"]:
        key_store.path.write_text(content)
        with pytest.raises(KeyStoreError) as excinfo:
            key_store.load()
        assert excinfo.value.code == "key_store_error"


def test_keyring_mode_without_a_backend_refuses(tmp_path: Path, no_keyring_backend: None) -> None:
    with pytest.raises(KeyringUnavailableError) as excinfo:
        select_key_store(KeyStoreKind.KEYRING, tmp_path / "keys.json")
    assert excinfo.value.code == "keyring_unavailable"


def test_auto_mode_without_a_backend_falls_back_to_the_file_with_a_warning(
    tmp_path: Path, no_keyring_backend: None, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="auth.keys"):
        store = select_key_store(KeyStoreKind.AUTO, tmp_path / "keys.json")
    assert isinstance(store, FileKeyStore)
    assert [r for r in caplog.records if r.levelno == logging.WARNING]


def test_a_keyring_backend_stores_keys_under_the_agent_auth_service(
    store_paths: StorePaths, tmp_path: Path, no_keyring_backend: None
) -> None:
    backend = FakeKeyring()
    store = select_key_store(KeyStoreKind.KEYRING, tmp_path / "unused.json", backend=backend)
    assert isinstance(store, KeyringKeyStore)
    authority = open_authority(store_paths, store)
    try:
        issued = authority.create_family({"things:read": Tier.ALLOW})
    finally:
        close_authority(authority)
    assert set(backend.passwords) == {(KEYRING_SERVICE, KEYRING_ENTRY)}
    assert not (tmp_path / "unused.json").exists()

    reopened = open_authority(store_paths, KeyringKeyStore(backend))
    try:
        reopened.authenticate(issued.access_token)
    finally:
        close_authority(reopened)
    store.delete()
    assert backend.passwords == {}


def test_a_failing_keyring_is_a_key_store_error() -> None:
    with pytest.raises(KeyStoreError) as excinfo:
        KeyringKeyStore(BrokenKeyring()).load()
    assert excinfo.value.code == "key_store_error"


def test_lost_keys_with_existing_families_refuse_to_start(store_paths: StorePaths, key_store: FileKeyStore) -> None:
    authority = open_authority(store_paths, key_store)
    authority.create_family({"things:read": Tier.ALLOW})
    close_authority(authority)
    key_store.delete()
    with pytest.raises(KeysMissingError) as excinfo:
        open_authority(store_paths, key_store)
    assert excinfo.value.code == "keys_missing"
    assert not key_store.path.exists(), "no new keys may be made for a store that has families"


def test_foreign_keys_are_detected_as_a_mismatch(store_paths: StorePaths, key_store: FileKeyStore) -> None:
    authority = open_authority(store_paths, key_store)
    authority.create_family({"things:read": Tier.ALLOW})
    close_authority(authority)
    key_store.save(KeyMaterial.generate())
    with pytest.raises(KeyMismatchError) as excinfo:
        open_authority(store_paths, key_store)
    assert excinfo.value.code == "key_mismatch"


def test_an_empty_store_gets_new_keys_once(store_paths: StorePaths, key_store: FileKeyStore) -> None:
    first = open_authority(store_paths, key_store)
    fingerprint = first.keys.fingerprint()
    close_authority(first)
    second = open_authority(store_paths, key_store)
    try:
        assert second.keys.fingerprint() == fingerprint
    finally:
        close_authority(second)


def test_key_material_hides_keys_in_repr_and_round_trips_through_json() -> None:
    material = KeyMaterial.generate()
    text = repr(material)
    for key in (material.signing, material.audit, *material.encryption.values()):
        assert key.hex() not in text
        assert str(key) not in text
    assert KeyMaterial.from_json(material.to_json()).fingerprint() == material.fingerprint()
