"""What a person reads about a family and a fresh token pair (the admin API's `family` and `families.create`
results, docs/admin-api.md): every documented field, through a family's whole life."""

from __future__ import annotations

import pytest

from auth import tokens
from auth.authority import Authority
from auth.scopes import Tier
from auth.tokens import TokenKind

T0 = 1_800_000_000.0
FAMILY_FIELDS = {
    "family_id",
    "label",
    "scopes",
    "created_at",
    "last_used_at",
    "revoked",
    "revoked_at",
    "revoke_reason",
    "status",
    "access_ttl_seconds",
    "refresh_ttl_seconds",
    "access_expires_at",
    "refresh_expires_at",
    "rotated_to",
}
ISSUED_FIELDS = {
    "family_id",
    "label",
    "access_token",
    "refresh_token",
    "expires_in",
    "access_expires_at",
    "refresh_expires_at",
    "scopes",
}


def test_a_new_family_is_described_with_every_documented_field(authority: Authority) -> None:
    issued = authority.create_family(
        {"things:write": Tier.PROMPT, "gpg:sign": Tier.DENY, "things:read": Tier.ALLOW},
        label="laptop",
        access_ttl_seconds=60,
        refresh_ttl_seconds=600,
        now=T0,
    )
    described = authority.get_family(issued.family_id).to_json(T0 + 2)
    assert described == {
        "family_id": issued.family_id,
        "label": "laptop",
        "scopes": {"gpg:sign": "deny", "things:read": "allow", "things:write": "prompt"},
        "created_at": T0,
        "last_used_at": None,
        "revoked": False,
        "revoked_at": None,
        "revoke_reason": None,
        "status": "active",
        "access_ttl_seconds": 60,
        "refresh_ttl_seconds": 600,
        "access_expires_at": T0 + 60,
        "refresh_expires_at": T0 + 600,
        "rotated_to": None,
    }
    assert list(described["scopes"]) == ["gpg:sign", "things:read", "things:write"]


def test_a_family_description_follows_use_revocation_and_rotation(authority: Authority) -> None:
    issued = authority.create_family({"things:read": Tier.ALLOW}, label="cli", now=T0)
    authority.touch({issued.family_id: T0 + 30})
    used = authority.get_family(issued.family_id).to_json(T0 + 31)
    assert (used["last_used_at"], used["status"], used["revoked"]) == (T0 + 30, "active", False)

    rotated = authority.rotate_family(issued.family_id, now=T0 + 40)
    old = authority.get_family(issued.family_id).to_json(T0 + 41)
    assert set(old) == FAMILY_FIELDS
    assert old["family_id"] == issued.family_id
    assert old["rotated_to"] == rotated.family_id
    assert (old["revoked"], old["revoked_at"], old["revoke_reason"], old["status"]) == (
        True,
        T0 + 40,
        "rotated",
        "revoked",
    )
    new = authority.get_family(rotated.family_id).to_json(T0 + 41)
    assert (new["label"], new["scopes"], new["status"], new["rotated_to"]) == (
        "cli",
        {"things:read": "allow"},
        "active",
        None,
    )
    assert (new["access_ttl_seconds"], new["refresh_ttl_seconds"]) == (
        old["access_ttl_seconds"],
        old["refresh_ttl_seconds"],
    )

    revoked = authority.revoke_family(rotated.family_id, reason="lost laptop", now=T0 + 50).to_json(T0 + 51)
    assert (revoked["revoked"], revoked["revoked_at"], revoked["revoke_reason"], revoked["status"]) == (
        True,
        T0 + 50,
        "lost laptop",
        "revoked",
    )


def test_a_family_is_expired_from_the_moment_its_refresh_token_expires(authority: Authority) -> None:
    issued = authority.create_family({"things:read": Tier.ALLOW}, refresh_ttl_seconds=600, now=T0)
    family = authority.get_family(issued.family_id)
    assert family.to_json(T0 + 599.9)["status"] == "active"
    assert family.to_json(T0 + 600)["status"] == "expired"
    assert family.to_json(T0 + 10_000)["status"] == "expired"
    authority.revoke_family(issued.family_id, now=T0 + 20_000)
    # A revoked family says so even after it would have expired: revocation is the stronger fact.
    assert authority.get_family(issued.family_id).to_json(T0 + 30_000)["status"] == "revoked"


def test_a_fresh_pair_is_shown_once_with_both_tokens_and_their_lifetimes(authority: Authority) -> None:
    issued = authority.create_family(
        {"things:write": Tier.PROMPT, "things:read": Tier.ALLOW}, label="agent", access_ttl_seconds=900, now=T0
    )
    shown = issued.to_json(T0)
    assert set(shown) == ISSUED_FIELDS
    assert (shown["family_id"], shown["label"]) == (issued.family_id, "agent")
    assert tokens.verify(shown["access_token"], authority.keys.signing, TokenKind.ACCESS)
    assert tokens.verify(shown["refresh_token"], authority.keys.signing, TokenKind.REFRESH)
    assert (shown["access_expires_at"], shown["refresh_expires_at"]) == (T0 + 900, issued.refresh_expires_at)
    assert shown["scopes"] == {"things:read": "allow", "things:write": "prompt"}
    assert list(shown["scopes"]) == ["things:read", "things:write"]
    # The token works for what the description says.
    _state, family = authority.authenticate(shown["access_token"], now=T0 + 1)
    assert family.id == shown["family_id"]


@pytest.mark.parametrize(
    ("seconds_later", "expires_in"),
    [(0.0, 900), (0.4, 900), (0.6, 899), (899.0, 1), (900.0, 0), (5_000.0, 0)],
)
def test_expires_in_counts_down_to_zero_and_never_below(
    authority: Authority, seconds_later: float, expires_in: int
) -> None:
    issued = authority.create_family({"things:read": Tier.ALLOW}, access_ttl_seconds=900, now=T0)
    assert issued.to_json(T0 + seconds_later)["expires_in"] == expires_in
