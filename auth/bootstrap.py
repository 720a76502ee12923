"""Open the token store with its keys, refusing to start when they do not belong together."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from sqlmodel import Session

from auth.audit import AuditLog
from auth.authority import KEY_CHECK_KEY, Authority
from auth.db import Database
from auth.errors import KeyMismatchError, KeysMissingError
from auth.keys import KeyMaterial, KeyStore
from auth.models import MetaRow

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class StorePaths:
    database: Path
    audit_log: Path


def load_or_create_keys(db: Database, key_store: KeyStore) -> KeyMaterial:
    """Load keys; create them only for an empty store; check they match the store."""
    with Session(db.engine) as session, session.begin():
        check = session.get(MetaRow, KEY_CHECK_KEY)
        has_families = session.connection().exec_driver_sql("SELECT 1 FROM families LIMIT 1").first() is not None
        keys = key_store.load()
        if keys is None:
            if check is not None or has_families:
                raise KeysMissingError(
                    f"the token store {db.path} holds token families but no keys were found in the "
                    f"{key_store.description}. Restore the keys (the same key_store setting, keyring or key "
                    "file from a backup), or move the database aside to start over (every token becomes "
                    "invalid)."
                )
            keys = KeyMaterial.generate()
            key_store.save(keys)
            log.info("created new keys in the %s", key_store.description)
        fingerprint = keys.fingerprint()
        if check is None:
            session.add(MetaRow(key=KEY_CHECK_KEY, value=fingerprint))
        elif check.value != fingerprint:
            raise KeyMismatchError(
                f"the keys in the {key_store.description} do not belong to the token store {db.path}. "
                "Point key_store (AGENT_AUTH_KEY_STORE) at the keys this store was created with, or move the "
                "database aside to start over."
            )
    return keys


def open_authority(paths: StorePaths, key_store: KeyStore, *, audit_fsync: bool = False) -> Authority:
    db = Database(paths.database)
    try:
        keys = load_or_create_keys(db, key_store)
        audit = AuditLog(paths.audit_log, keys.audit, fsync=audit_fsync)
    except BaseException:
        db.dispose()
        raise
    return Authority(db, keys, audit)
