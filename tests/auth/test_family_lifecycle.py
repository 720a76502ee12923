"""Token families through the Authority: create, list, show, modify, revoke, rotate, authenticate."""

from __future__ import annotations

import json

import pytest

from auth import tokens
from auth.authority import Authority
from auth.errors import (
    AuthError,
    FamilyAlreadyRevokedError,
    FamilyNotFoundError,
    InvalidArgumentError,
    InvalidScopeError,
    InvalidTokenError,
    ReservedScopeError,
    TokenExpiredError,
    TokenRevokedError,
)
from auth.families import DEFAULT_ACCESS_TTL_SECONDS, DEFAULT_REFRESH_TTL_SECONDS
from auth.scopes import Tier
from auth.tokens import TokenKind

T0 = 1_800_000_000.0
UNKNOWN_FAMILY = "f" * 32


def _audit_events(authority: Authority) -> list[str]:
    return [json.loads(line)["event"] for line in authority.audit.path.read_text().splitlines()]


def test_created_family_has_a_working_pair_with_default_lifetimes(authority: Authority) -> None:
    issued = authority.create_family({"things:read": Tier.ALLOW}, label="demo", now=T0)
    assert tokens.verify(issued.access_token, authority.keys.signing, TokenKind.ACCESS)
    assert tokens.verify(issued.refresh_token, authority.keys.signing, TokenKind.REFRESH)
    assert issued.access_expires_at == T0 + DEFAULT_ACCESS_TTL_SECONDS == T0 + 900
    assert issued.refresh_expires_at == T0 + DEFAULT_REFRESH_TTL_SECONDS == T0 + 28_800
    state, family = authority.authenticate(issued.access_token, now=T0 + 1)
    assert state.family_id == family.id == issued.family_id
    assert family.scopes == {"things:read": Tier.ALLOW}
    assert issued.access_token not in repr(issued)
    assert issued.refresh_token not in repr(issued)


def test_list_and_show_describe_the_family(authority: Authority) -> None:
    first = authority.create_family({"things:read": Tier.ALLOW}, label="one", now=T0)
    second = authority.create_family(
        {"gpg:sign": Tier.PROMPT, "things:write": Tier.DENY},
        label="two",
        access_ttl_seconds=60,
        refresh_ttl_seconds=600,
        now=T0 + 1,
    )
    assert [f.id for f in authority.list_families()] == [first.family_id, second.family_id]
    shown = authority.get_family(second.family_id)
    assert shown.label == "two"
    assert shown.scopes == {"gpg:sign": Tier.PROMPT, "things:write": Tier.DENY}
    assert shown.created_at == T0 + 1
    assert (shown.access_expires_at, shown.refresh_expires_at) == (T0 + 61, T0 + 601)
    assert shown.status(T0 + 2) == "active"
    assert shown.status(T0 + 601) == "expired"
    assert shown.to_json(T0 + 2)["scopes"] == {"gpg:sign": "prompt", "things:write": "deny"}


def test_reserved_scopes_are_refused_in_create(authority: Authority) -> None:
    with pytest.raises(ReservedScopeError) as excinfo:
        authority.create_family({"agent-auth:admin": Tier.ALLOW})
    assert excinfo.value.code == "reserved_scope"
    assert authority.list_families() == []
    system = authority.create_family({"agent-auth:admin": Tier.ALLOW}, allow_reserved=True)
    assert authority.get_family(system.family_id).scopes == {"agent-auth:admin": Tier.ALLOW}


@pytest.mark.parametrize(
    ("kwargs", "code"),
    [
        ({"scopes": {}}, "invalid_scope"),
        ({"scopes": {"Things:Read": Tier.ALLOW}}, "invalid_scope"),
        ({"scopes": {"things:read": "sometimes"}}, "invalid_scope"),
        ({"label": "   "}, "invalid_argument"),
        ({"label": "x" * 101}, "invalid_argument"),
        ({"label": "bad\x1b[31m"}, "invalid_argument"),
        ({"access_ttl_seconds": 0}, "invalid_argument"),
        ({"refresh_ttl_seconds": True}, "invalid_argument"),
        ({"refresh_ttl_seconds": 367 * 86_400}, "invalid_argument"),
    ],
)
def test_create_rejects_bad_input_without_writing(authority: Authority, kwargs: dict[str, object], code: str) -> None:
    arguments: dict[str, object] = {"scopes": {"things:read": Tier.ALLOW}, **kwargs}
    with pytest.raises(AuthError) as excinfo:
        authority.create_family(**arguments)  # type: ignore[arg-type]
    assert excinfo.value.code == code
    assert authority.list_families() == []


def test_unknown_and_malformed_family_ids_are_told_apart(authority: Authority) -> None:
    with pytest.raises(FamilyNotFoundError) as not_found:
        authority.get_family(UNKNOWN_FAMILY)
    assert not_found.value.code == "family_not_found"
    for bad in ["", "F" * 32, "f" * 31, "f" * 33, "../../etc/passwd"]:
        with pytest.raises(InvalidArgumentError) as invalid:
            authority.get_family(bad)
        assert invalid.value.code == "invalid_argument"
    for operation in (authority.revoke_family, authority.rotate_family):
        with pytest.raises(FamilyNotFoundError):
            operation(UNKNOWN_FAMILY)


def test_modify_adds_removes_and_sets_tiers_effective_on_the_next_check(authority: Authority) -> None:
    issued = authority.create_family({"things:read": Tier.ALLOW, "things:write": Tier.PROMPT}, now=T0)
    info = authority.modify_family(
        issued.family_id,
        add={"gpg:sign": Tier.PROMPT},
        remove=["things:write"],
        set_tiers={"things:read": Tier.DENY},
    )
    expected = {"things:read": Tier.DENY, "gpg:sign": Tier.PROMPT}
    assert info.scopes == expected
    _, family = authority.authenticate(issued.access_token, now=T0 + 1)
    assert family.scopes == expected
    assert authority.get_family(issued.family_id).scopes == expected


@pytest.mark.parametrize(
    ("kwargs", "code"),
    [
        ({"remove": ["gpg:sign"]}, "invalid_scope"),
        ({"set_tiers": {"gpg:sign": Tier.ALLOW}}, "invalid_scope"),
        ({"add": {"agent-auth:admin": Tier.ALLOW}}, "reserved_scope"),
        ({"add": {"bad scope": Tier.ALLOW}}, "invalid_scope"),
        ({}, "invalid_argument"),
    ],
)
def test_modify_rejects_bad_changes_and_leaves_the_family_alone(
    authority: Authority, kwargs: dict[str, object], code: str
) -> None:
    issued = authority.create_family({"things:read": Tier.ALLOW})
    with pytest.raises(AuthError) as excinfo:
        authority.modify_family(issued.family_id, **kwargs)  # type: ignore[arg-type]
    assert excinfo.value.code == code
    assert authority.get_family(issued.family_id).scopes == {"things:read": Tier.ALLOW}


def test_modify_refuses_a_revoked_family(authority: Authority) -> None:
    issued = authority.create_family({"things:read": Tier.ALLOW})
    authority.revoke_family(issued.family_id)
    with pytest.raises(FamilyAlreadyRevokedError) as excinfo:
        authority.modify_family(issued.family_id, add={"gpg:sign": Tier.ALLOW})
    assert excinfo.value.code == "family_revoked"


def test_revoke_stops_both_tokens_and_is_idempotent(authority: Authority) -> None:
    issued = authority.create_family({"things:read": Tier.ALLOW}, now=T0)
    first = authority.revoke_family(issued.family_id, now=T0 + 5)
    second = authority.revoke_family(issued.family_id, now=T0 + 10)
    assert first.revoked and second.revoked
    assert first.revoked_at == second.revoked_at == T0 + 5
    assert _audit_events(authority).count("token.revoke") == 1
    with pytest.raises(TokenRevokedError) as excinfo:
        authority.authenticate(issued.access_token, now=T0 + 6)
    assert excinfo.value.code == "token_revoked"
    with pytest.raises(AuthError) as refresh_error:
        authority.refresh(issued.refresh_token, now=T0 + 6)
    assert refresh_error.value.code == "family_revoked"
    assert authority.get_family(issued.family_id).status(T0 + 6) == "revoked"


def test_rotate_makes_a_new_family_with_the_same_scopes_and_revokes_the_old(authority: Authority) -> None:
    scopes = {"things:read": Tier.ALLOW, "gpg:sign": Tier.PROMPT}
    old = authority.create_family(scopes, label="laptop", access_ttl_seconds=120, refresh_ttl_seconds=1200, now=T0)
    new = authority.rotate_family(old.family_id, now=T0 + 10)
    assert new.family_id != old.family_id
    assert new.scopes == scopes
    assert new.label == "laptop"
    assert (new.access_expires_at, new.refresh_expires_at) == (T0 + 130, T0 + 1210)
    old_info = authority.get_family(old.family_id)
    assert old_info.revoked
    assert old_info.rotated_to == new.family_id
    assert old_info.revoke_reason == "rotated"
    with pytest.raises(TokenRevokedError):
        authority.authenticate(old.access_token, now=T0 + 11)
    _, family = authority.authenticate(new.access_token, now=T0 + 11)
    assert family.id == new.family_id
    assert family.scopes == scopes


def test_rotate_refuses_a_revoked_family(authority: Authority) -> None:
    issued = authority.create_family({"things:read": Tier.ALLOW})
    authority.rotate_family(issued.family_id)
    with pytest.raises(FamilyAlreadyRevokedError) as excinfo:
        authority.rotate_family(issued.family_id)
    assert excinfo.value.code == "family_revoked"
    assert len(authority.list_families()) == 2


def test_access_token_expires_at_its_ttl(authority: Authority) -> None:
    issued = authority.create_family({"things:read": Tier.ALLOW}, access_ttl_seconds=60, now=T0)
    authority.authenticate(issued.access_token, now=T0 + 59.999)
    with pytest.raises(TokenExpiredError) as excinfo:
        authority.authenticate(issued.access_token, now=T0 + 60)
    assert excinfo.value.code == "token_expired"


def test_authenticate_refuses_refresh_tokens_and_foreign_tokens(authority: Authority) -> None:
    issued = authority.create_family({"things:read": Tier.ALLOW}, now=T0)
    re_prefixed = "aa" + issued.refresh_token[2:]
    never_issued, _ = tokens.mint(TokenKind.ACCESS, authority.keys.signing)
    foreign, _ = tokens.mint(TokenKind.ACCESS, bytes(32))
    for presented in (issued.refresh_token, re_prefixed, never_issued, foreign):
        with pytest.raises(InvalidTokenError) as excinfo:
            authority.authenticate(presented, now=T0 + 1)
        assert excinfo.value.code == "invalid_token"
    for presented in (issued.access_token, "rt" + issued.access_token[2:]):
        with pytest.raises(InvalidTokenError):
            authority.refresh(presented, now=T0 + 1)


def test_every_operation_is_audited_without_token_secrets(authority: Authority) -> None:
    issued = authority.create_family({"things:read": Tier.ALLOW}, label="audited", now=T0)
    authority.modify_family(issued.family_id, add={"gpg:sign": Tier.PROMPT})
    refreshed = authority.refresh(issued.refresh_token, now=T0 + 1)
    rotated = authority.rotate_family(issued.family_id, now=T0 + 2)
    authority.revoke_family(rotated.family_id, now=T0 + 3)
    assert _audit_events(authority) == ["token.create", "token.modify", "token.refresh", "token.rotate", "token.revoke"]
    log_text = authority.audit.path.read_text()
    for token in (issued.access_token, issued.refresh_token, refreshed.access_token, refreshed.refresh_token):
        assert token not in log_text
        assert token.rsplit("_", 1)[1] not in log_text
    assert authority.audit_checkpoint() == authority.audit.head


def test_invalid_input_never_reaches_the_store_as_a_generic_error(authority: Authority) -> None:
    """Scope maps with non-string keys or wrong types are rejected with a scope error, not a crash."""
    for scopes in ({1: Tier.ALLOW}, {"things:read": 3}, {"things:read": None}):
        with pytest.raises(InvalidScopeError):
            authority.create_family(scopes)  # type: ignore[arg-type]


def test_token_status_describes_either_token_type(authority: Authority) -> None:
    issued = authority.create_family({"things:read": Tier.ALLOW}, now=T0)
    access = authority.token_status(issued.access_token, now=T0 + 100)
    refresh = authority.token_status(issued.refresh_token, now=T0 + 100)
    assert (access["type"], refresh["type"]) == ("access", "refresh")
    assert access["family_id"] == refresh["family_id"] == issued.family_id
    assert access["expires_in"] == 800
    assert access["scopes"] == {"things:read": "allow"}
    assert access["revoked"] is False
    authority.revoke_family(issued.family_id)
    assert authority.token_status(issued.refresh_token, now=T0 + 100)["revoked"] is True
    with pytest.raises(InvalidTokenError):
        authority.token_status("rt" + issued.access_token[2:], now=T0 + 100)


def test_every_write_is_recorded_as_a_change_for_cache_eviction(authority: Authority) -> None:
    start, changed = authority.changes_since(0)
    assert changed == set()
    first = authority.create_family({"things:read": Tier.ALLOW})
    second = authority.create_family({"gpg:sign": Tier.ALLOW})
    seq, changed = authority.changes_since(start)
    assert changed == {first.family_id, second.family_id}
    authority.modify_family(first.family_id, set_tiers={"things:read": Tier.PROMPT})
    later, changed = authority.changes_since(seq)
    assert later > seq
    assert changed == {first.family_id}
    assert authority.family_count() == 2


def test_touch_records_only_newer_last_use_times(authority: Authority) -> None:
    issued = authority.create_family({"things:read": Tier.ALLOW}, now=T0)
    assert authority.get_family(issued.family_id).last_used_at is None
    authority.touch({issued.family_id: T0 + 50})
    authority.touch({issued.family_id: T0 + 10})
    assert authority.get_family(issued.family_id).last_used_at == T0 + 50
