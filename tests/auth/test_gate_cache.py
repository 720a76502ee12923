"""The gate's cache of decrypted families: fast when nothing changed, never stale after a change."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from auth_test_support import close_authority

import auth.gate
from auth import tokens
from auth.approvals import ApprovalBroker
from auth.authority import Authority
from auth.bootstrap import StorePaths, open_authority
from auth.errors import TokenRevokedError
from auth.gate import FamilyCache, Gate
from auth.keys import FileKeyStore
from auth.scopes import Tier


@pytest.fixture
def gate(authority: Authority) -> Iterator[Gate]:
    opened = Gate(authority, ApprovalBroker(authority.audit, timeout_seconds=60), rate_limit_per_minute=100_000)
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


class FrozenClock:
    """A monotonic clock in nanoseconds that moves only when the test says so."""

    def __init__(self) -> None:
        self.ns = 10**12

    def __call__(self) -> int:
        return self.ns


def test_a_commit_in_this_process_within_the_sync_interval_is_seen(authority: Authority) -> None:
    """The clock does not move between the two lookups: only the change counter can reveal the revoke."""
    clock = FrozenClock()
    cache = FamilyCache(authority, monotonic_ns=clock)
    try:
        issued = authority.create_family({"things:read": Tier.ALLOW})
        token_id = tokens.parse(issued.access_token).token_id
        cache.sync()
        before = cache.token(token_id)
        assert before is not None and before.revoked_at is None
        assert cache.family(issued.family_id) is not None

        authority.revoke_family(issued.family_id)
        cache.sync()

        after = cache.token(token_id)
        family = cache.family(issued.family_id)
        assert after is not None and after.revoked_at is not None
        assert family is not None and family.revoked
    finally:
        cache.close()


def test_a_commit_by_another_process_is_seen_once_a_millisecond_has_passed(
    authority: Authority, store_paths: StorePaths, key_store: FileKeyStore
) -> None:
    clock = FrozenClock()
    cache = FamilyCache(authority, monotonic_ns=clock)
    try:
        issued = authority.create_family({"things:read": Tier.ALLOW})
        token_id = tokens.parse(issued.access_token).token_id
        cache.sync()
        assert cache.token(token_id) is not None
        other = open_authority(store_paths, key_store)
        try:
            other.revoke_family(issued.family_id)
        finally:
            close_authority(other)

        clock.ns += auth.gate.SYNC_INTERVAL_NS - 1
        cache.sync()
        state = cache.token(token_id)
        assert state is not None and state.revoked_at is None, "synced before the interval passed"

        clock.ns += 1
        cache.sync()
        state = cache.token(token_id)
        assert state is not None and state.revoked_at is not None
    finally:
        cache.close()


def test_the_cache_holds_at_most_max_entries_token_states_and_families(authority: Authority) -> None:
    cache = FamilyCache(authority, max_entries=2)
    try:
        families = [authority.create_family({"things:read": Tier.ALLOW}) for _ in range(4)]
        token_ids = [tokens.parse(issued.access_token).token_id for issued in families]
        for issued, token_id in zip(families, token_ids, strict=True):
            assert cache.token(token_id) is not None
            assert cache.family(issued.family_id) is not None
            assert cache.size[0] <= 2 and cache.size[1] <= 2
        assert cache.size == (2, 2)
        # The oldest went first, and an evicted entry is simply looked up again.
        authority.revoke_family(families[0].family_id)
        cache.sync()
        state = cache.token(token_ids[0])
        assert state is not None and state.revoked_at is not None
        assert cache.size[0] <= 2 and cache.size[1] <= 2
    finally:
        cache.close()


def test_a_cache_of_no_entries_is_refused(authority: Authority) -> None:
    with pytest.raises(ValueError, match="max_entries"):
        FamilyCache(authority, max_entries=0)
