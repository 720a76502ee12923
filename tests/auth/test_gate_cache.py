"""The gate's cache of decrypted families: fast when nothing changed, never stale after a change."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from auth_test_support import close_authority

import auth.gate
from auth.approvals import ApprovalBroker
from auth.authority import Authority
from auth.bootstrap import StorePaths, open_authority
from auth.errors import TokenRevokedError
from auth.gate import Gate
from auth.keys import FileKeyStore
from auth.scopes import Tier


@pytest.fixture
def gate(authority: Authority) -> Iterator[Gate]:
    opened = Gate(authority, ApprovalBroker(authority.audit), rate_limit_per_minute=100_000)
    try:
        yield opened
    finally:
        opened.close()


def test_a_revoke_in_this_process_is_seen_by_the_very_next_check(authority: Authority, gate: Gate) -> None:
    """In-process writes bump the authority's change counter, so the 1 ms sync interval never applies."""
    issued = authority.create_family({"things:read": Tier.ALLOW})
    assert gate.check(issued.access_token, "things:read").allowed
    authority.revoke_family(issued.family_id)
    decision = gate.check(issued.access_token, "things:read")
    assert not decision.allowed and decision.code == "token_revoked"


def test_a_scope_change_in_this_process_applies_on_the_next_check(authority: Authority, gate: Gate) -> None:
    issued = authority.create_family({"things:read": Tier.ALLOW})
    assert gate.check(issued.access_token, "things:read").allowed
    authority.modify_family(issued.family_id, set_tiers={"things:read": Tier.DENY})
    assert gate.check(issued.access_token, "things:read").code == "scope_denied"


def test_a_revoke_written_by_another_process_is_seen_once_the_sync_interval_passes(
    authority: Authority,
    gate: Gate,
    store_paths: StorePaths,
    key_store: FileKeyStore,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Another process (here: a second Authority on the same files) is noticed through SQLite's data_version."""
    issued = authority.create_family({"things:read": Tier.ALLOW})
    assert gate.check(issued.access_token, "things:read").allowed
    other = open_authority(store_paths, key_store)
    try:
        other.revoke_family(issued.family_id)
    finally:
        close_authority(other)
    monkeypatch.setattr(auth.gate, "SYNC_INTERVAL_NS", 0)  # stands for "1 ms later", without sleeping
    with pytest.raises(TokenRevokedError):
        gate.authenticate(issued.access_token)
