"""The OAuth store: sealed records, single-use codes through the authority, expiry and pruning."""

from __future__ import annotations

import sqlite3
import time

import pytest

from auth.authority import Authority
from auth.models import OAuthAuthorizationRow
from auth.oauth_store import (
    CONSENT_TTL_SECONDS,
    UNUSED_CLIENT_TTL_SECONDS,
    ConsentNotPendingError,
    InvalidGrantError,
    InvalidRedirectUriError,
    MatchingCodeError,
    OAuthStore,
    validate_redirect_uri,
)
from auth.scopes import Tier

REDIRECT = "http://127.0.0.1:41000/callback"
STATE = "state-value-that-must-not-be-plain"
CHALLENGE = "challenge-value-that-must-not-be-plain-0123456789abcdef"


def consent(store: OAuthStore, now: float = 1000.0):  # type: ignore[no-untyped-def]
    store.register_client("client-1", {"client_id": "client-1", "client_name": "Editor", "redirect_uris": [REDIRECT]})
    return store.create_consent(
        "client-1",
        "Editor",
        redirect_uri=REDIRECT,
        explicit_redirect=True,
        code_challenge=CHALLENGE,
        state=STATE,
        scopes=["notes:read"],
        resource="http://127.0.0.1:9100/mcp",
        now=now,
    )


def test_clients_and_consents_are_sealed_in_the_database(authority: Authority) -> None:
    store = OAuthStore(authority)
    pending = consent(store)
    store.decide(
        pending.id, approved=True, matching_code=pending.matching_code, scopes={"notes:read": Tier.ALLOW}, now=1001
    )
    code = store.issue_code(pending.id, now=1002)
    assert code is not None
    raw = authority.db.path.read_bytes() + authority.db.path.with_name(authority.db.path.name + "-wal").read_bytes()
    for secret in (REDIRECT, STATE, CHALLENGE, "Editor", "notes:read", code, pending.matching_code):
        assert secret.encode() not in raw, secret


def test_a_sealed_request_moved_to_another_row_does_not_open(authority: Authority) -> None:
    store = OAuthStore(authority)
    first, second = consent(store), store.create_consent(
        "client-1", "x", redirect_uri=REDIRECT, explicit_redirect=True, code_challenge="c", state=None,
        scopes=["a:b"], resource="r", now=1000,
    )  # fmt: skip
    with sqlite3.connect(authority.db.path) as conn:
        blob = conn.execute("SELECT request_blob FROM oauth_authorizations WHERE id = ?", (first.id,)).fetchone()[0]
        conn.execute("UPDATE oauth_authorizations SET request_blob = ? WHERE id = ?", (blob, second.id))
    with pytest.raises(Exception) as failed:
        store.get_consent(second.id)
    assert getattr(failed.value, "code", "") == "decryption_failed"


def test_a_code_is_issued_once_and_exchanged_once(authority: Authority) -> None:
    store = OAuthStore(authority)
    pending = consent(store, now=time.time())
    with pytest.raises(MatchingCodeError):
        store.decide(pending.id, approved=True, matching_code="ZZZ-ZZZ", scopes={"notes:read": Tier.ALLOW})
    store.decide(
        pending.id,
        approved=True,
        matching_code=pending.matching_code.lower(),
        scopes={"notes:read": Tier.ALLOW},
        label="ed",
    )
    with pytest.raises(ConsentNotPendingError):
        store.decide(pending.id, approved=False)
    code = store.issue_code(pending.id)
    assert code is not None and store.issue_code(pending.id) is None
    with pytest.raises(InvalidGrantError):
        store.exchange_code(code, "client-2")
    issued = store.exchange_code(code, "client-1")
    assert issued.label == "ed" and issued.scopes == {"notes:read": Tier.ALLOW}
    assert store.family_client(issued.family_id) == "client-1"
    with pytest.raises(InvalidGrantError):
        store.exchange_code(code, "client-1")
    assert authority.get_family(issued.family_id).revoke_reason == "authorization_code_reuse"


def test_unanswered_consents_expire_and_pruning_forgets_them_and_idle_clients(authority: Authority) -> None:
    store = OAuthStore(authority)
    pending = consent(store, now=1000.0)
    later = 1000.0 + CONSENT_TTL_SECONDS + 1
    assert store.get_consent(pending.id, now=later).status == "expired"  # type: ignore[union-attr]
    assert store.pending_consents(now=later) == []
    with pytest.raises(ConsentNotPendingError):
        store.decide(pending.id, approved=True, matching_code=pending.matching_code, now=later)
    assert store.prune(now=later) == 1
    assert store.get_consent(pending.id) is None
    assert store.get_client("client-1") is not None
    assert store.prune(now=later + UNUSED_CLIENT_TTL_SECONDS + 1) == 1
    assert store.get_client("client-1") is None
    assert OAuthAuthorizationRow.__tablename__ == "oauth_authorizations"


@pytest.mark.parametrize(
    "uri", ["http://localhost:1/cb", "http://[::1]:2/cb", "https://app.example/cb", "http://127.0.0.1/cb"]
)
def test_loopback_http_and_https_redirects_are_accepted(uri: str) -> None:
    assert validate_redirect_uri(uri) == uri


@pytest.mark.parametrize(
    "uri",
    ["http://app.example/cb", "https://a.example/cb#x", "ftp://127.0.0.1/cb", "https:///cb", "http://127.0.0.1\n/"],
)
def test_other_redirects_are_refused(uri: str) -> None:
    with pytest.raises(InvalidRedirectUriError):
        validate_redirect_uri(uri)
