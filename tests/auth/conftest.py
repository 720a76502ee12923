"""Fixtures for the auth tests: a real SQLite token store, a real audit log and a 0600 key file in tmp_path."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from auth_test_support import close_authority

from auth.authority import Authority
from auth.bootstrap import StorePaths, open_authority
from auth.keys import FileKeyStore


@pytest.fixture
def store_paths(tmp_path: Path) -> StorePaths:
    return StorePaths(database=tmp_path / "data" / "tokens.db", audit_log=tmp_path / "state" / "audit.log")


@pytest.fixture
def key_store(tmp_path: Path) -> FileKeyStore:
    return FileKeyStore(tmp_path / "config" / "keys" / "keys.json")


@pytest.fixture
def authority(store_paths: StorePaths, key_store: FileKeyStore) -> Iterator[Authority]:
    opened = open_authority(store_paths, key_store)
    try:
        yield opened
    finally:
        close_authority(opened)
