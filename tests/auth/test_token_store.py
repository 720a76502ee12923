"""The SQLite token store: encryption at rest, file modes, migrations."""

from __future__ import annotations

import sqlite3
import stat
from pathlib import Path

import pytest
from auth_test_support import close_authority

from auth.authority import Authority
from auth.bootstrap import StorePaths, open_authority
from auth.db import SCHEMA_VERSION, Database
from auth.errors import DecryptionError, SchemaTooNewError, StoreError
from auth.keys import FileKeyStore
from auth.scopes import Tier

DISTINCTIVE_SCOPES = {
    "zebracornapp:quuxresource": Tier.ALLOW,
    "flibbertigibbet:snarkle:wumpus": Tier.PROMPT,
    "zebracornapp:xyzzyplugh": Tier.DENY,
}


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _store_files(db_path: Path) -> list[Path]:
    return [p for p in (db_path, Path(f"{db_path}-wal"), Path(f"{db_path}-shm")) if p.exists()]


def test_database_files_hold_no_plaintext_scope_names(authority: Authority) -> None:
    """Scopes are encrypted: neither the database nor its WAL contains a scope name, before or after checkpoint."""
    for index in range(3):
        authority.create_family(DISTINCTIVE_SCOPES, label=f"family-{index}")
    issued = authority.create_family({"zebracornapp:quuxresource": Tier.ALLOW})
    authority.modify_family(issued.family_id, add={"flibbertigibbet:gronk": Tier.ALLOW})
    authority.rotate_family(issued.family_id)

    needles = [b"zebracorn", b"quuxresource", b"flibbertigibbet", b"snarkle", b"wumpus", b"xyzzyplugh", b"gronk"]
    wal = Path(f"{authority.db.path}-wal")
    assert wal.exists() and wal.stat().st_size > 0, "writes should sit in the WAL before a checkpoint"
    for phase in ("before checkpoint", "after checkpoint"):
        for path in _store_files(authority.db.path):
            content = path.read_bytes()
            for needle in needles:
                assert needle not in content, f"{needle!r} in {path.name} {phase}"
        authority.db.checkpoint()
    assert not wal.exists() or wal.stat().st_size == 0, "the checkpoint should have emptied the WAL"
    assert authority.get_family(issued.family_id).revoked


def test_store_files_are_0600_in_a_0700_directory(authority: Authority) -> None:
    authority.create_family({"things:read": Tier.ALLOW})
    files = _store_files(authority.db.path)
    assert Path(f"{authority.db.path}-wal") in files
    for path in files:
        assert _mode(path) == 0o600, path.name
    assert _mode(authority.db.path.parent) == 0o700
    assert _mode(authority.audit.path) == 0o600
    assert _mode(authority.audit.path.parent) == 0o700


def test_opening_the_store_repairs_wider_modes(
    authority: Authority, store_paths: StorePaths, key_store: FileKeyStore
) -> None:
    authority.create_family({"things:read": Tier.ALLOW})
    close_authority(authority)
    store_paths.database.parent.chmod(0o755)
    store_paths.database.chmod(0o644)
    store_paths.audit_log.parent.chmod(0o755)
    store_paths.audit_log.chmod(0o644)

    reopened = open_authority(store_paths, key_store)
    try:
        assert _mode(store_paths.database) == 0o600
        assert _mode(store_paths.database.parent) == 0o700
        assert _mode(store_paths.audit_log) == 0o600
        assert _mode(store_paths.audit_log.parent) == 0o700
        assert len(reopened.list_families()) == 1
    finally:
        close_authority(reopened)


def test_migrations_are_idempotent_and_record_the_schema_version(tmp_path: Path) -> None:
    path = tmp_path / "data" / "tokens.db"
    for _ in range(3):
        db = Database(path)
        assert db.migrate() == SCHEMA_VERSION
        db.dispose()
    with sqlite3.connect(path) as conn:
        versions = [row[0] for row in conn.execute("SELECT version FROM schema_version ORDER BY version")]
        tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        journal_mode = conn.execute("PRAGMA journal_mode").fetchone()[0]
    assert versions == list(range(1, SCHEMA_VERSION + 1))
    assert {"families", "tokens", "changes", "meta", "schema_version"} <= tables
    assert journal_mode == "wal"


def test_a_store_from_a_newer_version_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "data" / "tokens.db"
    Database(path).dispose()
    with sqlite3.connect(path) as conn:
        conn.execute("INSERT INTO schema_version (version) VALUES (?)", (SCHEMA_VERSION + 1,))
    with pytest.raises(SchemaTooNewError) as excinfo:
        Database(path)
    assert excinfo.value.code == "schema_too_new"
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT MAX(version) FROM schema_version").fetchone()[0] == SCHEMA_VERSION + 1


def test_a_file_that_is_not_a_database_is_a_store_error(tmp_path: Path) -> None:
    path = tmp_path / "data" / "tokens.db"
    path.parent.mkdir(mode=0o700)
    path.write_bytes(b"this is not an SQLite database, just some bytes " * 100)
    with pytest.raises(StoreError) as excinfo:
        Database(path)
    assert excinfo.value.code == "store_error"


def test_scopes_swapped_between_two_rows_are_detected(authority: Authority) -> None:
    first = authority.create_family({"things:read": Tier.ALLOW})
    second = authority.create_family({"gpg:sign": Tier.ALLOW, "things:write": Tier.ALLOW})
    with sqlite3.connect(authority.db.path) as conn:
        blobs = dict(conn.execute("SELECT id, scopes_blob FROM families"))
        conn.execute("UPDATE families SET scopes_blob = ? WHERE id = ?", (blobs[second.family_id], first.family_id))
        conn.execute("UPDATE families SET scopes_blob = ? WHERE id = ?", (blobs[first.family_id], second.family_id))
    for family_id in (first.family_id, second.family_id):
        with pytest.raises(DecryptionError) as excinfo:
            authority.get_family(family_id)
        assert excinfo.value.code == "decryption_failed"
    with pytest.raises(DecryptionError):
        authority.authenticate(first.access_token)


def test_token_strings_are_not_stored(authority: Authority) -> None:
    issued = authority.create_family({"things:read": Tier.ALLOW})
    signatures = [issued.access_token.rsplit("_", 1)[1], issued.refresh_token.rsplit("_", 1)[1]]
    authority.db.checkpoint()
    for path in _store_files(authority.db.path):
        content = path.read_bytes()
        for signature in signatures:
            assert signature.encode() not in content
