"""Refresh (single use, rotation, reuse detection, the concurrent race), reissue and pruning."""

from __future__ import annotations

import multiprocessing
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from auth_test_support import close_authority

from auth import tokens
from auth.authority import Authority
from auth.bootstrap import StorePaths, open_authority
from auth.errors import (
    AuthError,
    FamilyRevokedError,
    InvalidTokenError,
    RefreshTokenExpiredError,
    RefreshTokenReuseError,
    RefreshTokenStillValidError,
    TokenRevokedError,
)
from auth.families import IssuedTokens
from auth.keys import FileKeyStore
from auth.scopes import Tier
from auth.tokens import TokenKind

T0 = 1_800_000_000.0
RACE_TIMEOUT_SECONDS = 30


def test_refresh_rotates_the_pair_and_revokes_the_old_access_token(authority: Authority) -> None:
    issued = authority.create_family({"things:read": Tier.ALLOW}, now=T0)
    refreshed = authority.refresh(issued.refresh_token, now=T0 + 10)
    assert refreshed.family_id == issued.family_id
    assert refreshed.access_token != issued.access_token
    assert refreshed.refresh_token != issued.refresh_token
    assert refreshed.scopes == {"things:read": Tier.ALLOW}
    assert refreshed.access_expires_at == T0 + 10 + 900
    with pytest.raises(TokenRevokedError):
        authority.authenticate(issued.access_token, now=T0 + 11)
    authority.authenticate(refreshed.access_token, now=T0 + 11)
    again = authority.refresh(refreshed.refresh_token, now=T0 + 20)
    authority.authenticate(again.access_token, now=T0 + 21)


def test_reused_refresh_token_revokes_the_family(authority: Authority) -> None:
    issued = authority.create_family({"things:read": Tier.ALLOW}, now=T0)
    refreshed = authority.refresh(issued.refresh_token, now=T0 + 1)
    with pytest.raises(RefreshTokenReuseError) as reuse:
        authority.refresh(issued.refresh_token, now=T0 + 2)
    assert reuse.value.code == "refresh_token_reuse_detected"
    family = authority.get_family(issued.family_id)
    assert family.revoked
    assert family.revoke_reason == "refresh_token_reuse_detected"
    with pytest.raises(TokenRevokedError):
        authority.authenticate(refreshed.access_token, now=T0 + 3)
    for token in (issued.refresh_token, refreshed.refresh_token):
        with pytest.raises(FamilyRevokedError) as revoked:
            authority.refresh(token, now=T0 + 3)
        assert revoked.value.code == "family_revoked"


def test_expired_refresh_token_cannot_refresh(authority: Authority) -> None:
    issued = authority.create_family({"things:read": Tier.ALLOW}, refresh_ttl_seconds=100, now=T0)
    with pytest.raises(RefreshTokenExpiredError) as excinfo:
        authority.refresh(issued.refresh_token, now=T0 + 100)
    assert excinfo.value.code == "refresh_token_expired"
    assert not authority.get_family(issued.family_id).revoked
    refreshed = authority.refresh(issued.refresh_token, now=T0 + 99)
    assert refreshed.family_id == issued.family_id


def _refresh_outcome(authority: Authority, token: str, barrier: threading.Barrier, now: float) -> str:
    barrier.wait(timeout=RACE_TIMEOUT_SECONDS)
    try:
        authority.refresh(token, now=now)
    except AuthError as exc:
        return exc.code
    return "ok"


def test_two_concurrent_refreshes_of_one_token_from_threads_let_exactly_one_win(authority: Authority) -> None:
    for round_number in range(5):
        issued = authority.create_family({"things:read": Tier.ALLOW}, now=T0)
        barrier = threading.Barrier(2)
        with ThreadPoolExecutor(max_workers=2) as pool:
            futures = [
                pool.submit(_refresh_outcome, authority, issued.refresh_token, barrier, T0 + 1) for _ in range(2)
            ]
            outcomes = [future.result(timeout=RACE_TIMEOUT_SECONDS) for future in futures]
        assert sorted(outcomes) == ["ok", "refresh_token_reuse_detected"], f"round {round_number}"
        assert authority.get_family(issued.family_id).revoked


def _process_refresh(
    database: str, audit_log: str, key_file: str, token: str, barrier: Any, results: Any
) -> None:  # pragma: no cover - runs in a child process
    authority = open_authority(StorePaths(Path(database), Path(audit_log)), FileKeyStore(Path(key_file)))
    try:
        barrier.wait(timeout=RACE_TIMEOUT_SECONDS)
        try:
            authority.refresh(token, now=T0 + 1)
        except AuthError as exc:
            results.put(exc.code)
        else:
            results.put("ok")
    finally:
        close_authority(authority)


def test_two_concurrent_refreshes_from_two_processes_let_exactly_one_win(
    authority: Authority, store_paths: StorePaths, key_store: FileKeyStore
) -> None:
    issued = authority.create_family({"things:read": Tier.ALLOW}, now=T0)
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(2)
    results = context.Queue()
    arguments = (
        str(store_paths.database),
        str(store_paths.audit_log),
        str(key_store.path),
        issued.refresh_token,
        barrier,
        results,
    )
    processes = [context.Process(target=_process_refresh, args=arguments) for _ in range(2)]
    for process in processes:
        process.start()
    outcomes = [results.get(timeout=RACE_TIMEOUT_SECONDS) for _ in processes]
    for process in processes:
        process.join(timeout=RACE_TIMEOUT_SECONDS)
        assert process.exitcode == 0
    assert sorted(outcomes) == ["ok", "refresh_token_reuse_detected"]
    assert authority.get_family(issued.family_id).revoked
    # Both processes wrote to one audit log; the chain and its checkpoint still verify.
    from auth.audit import verify_log

    report = verify_log(store_paths.audit_log, authority.keys.audit, authority.audit_checkpoint())
    assert report.ok, report.reason
    assert report.entries == 3


def _expired_pair(authority: Authority) -> IssuedTokens:
    return authority.create_family({"things:read": Tier.ALLOW}, access_ttl_seconds=10, refresh_ttl_seconds=100, now=T0)


def test_reissue_requires_the_expired_latest_refresh_token(authority: Authority) -> None:
    issued = _expired_pair(authority)
    with pytest.raises(RefreshTokenStillValidError) as still_valid:
        authority.reissue(issued.refresh_token, approved_by="tester", now=T0 + 99)
    assert still_valid.value.code == "refresh_token_still_valid"

    info = authority.check_reissue(issued.refresh_token, now=T0 + 100)
    assert info.id == issued.family_id
    reissued = authority.reissue(issued.refresh_token, approved_by="tester", now=T0 + 100)
    assert reissued.family_id == issued.family_id
    authority.authenticate(reissued.access_token, now=T0 + 101)

    with pytest.raises(InvalidTokenError) as consumed:
        authority.reissue(issued.refresh_token, approved_by="tester", now=T0 + 200)
    assert consumed.value.code == "invalid_token"


def test_reissue_refuses_unknown_consumed_access_and_revoked_tokens(authority: Authority) -> None:
    issued = _expired_pair(authority)
    refreshed = authority.refresh(issued.refresh_token, now=T0 + 5)
    never_issued, _ = tokens.mint(TokenKind.REFRESH, authority.keys.signing)
    for presented in (never_issued, issued.refresh_token, refreshed.access_token):
        with pytest.raises(InvalidTokenError) as excinfo:
            authority.reissue(presented, approved_by="tester", now=T0 + 10_000)
        assert excinfo.value.code == "invalid_token"
    authority.revoke_family(issued.family_id)
    with pytest.raises(FamilyRevokedError):
        authority.reissue(refreshed.refresh_token, approved_by="tester", now=T0 + 10_000)


def test_prune_deletes_dead_rows_but_keeps_the_latest_refresh_token(authority: Authority) -> None:
    issued = _expired_pair(authority)
    refreshed = authority.refresh(issued.refresh_token, now=T0 + 5)
    revoked = authority.create_family({"gpg:sign": Tier.ALLOW}, access_ttl_seconds=10, refresh_ttl_seconds=100, now=T0)
    authority.revoke_family(revoked.family_id, now=T0 + 1)
    live = authority.create_family({"things:read": Tier.ALLOW}, now=T0 + 100_000)

    assert authority.prune(now=T0 + 9, grace_seconds=0) == 0
    deleted = authority.prune(now=T0 + 10_000, grace_seconds=3600)
    # issued's old pair and new access token, and the revoked family's pair.
    assert deleted == 5
    gone = [
        issued.access_token,
        issued.refresh_token,
        refreshed.access_token,
        revoked.access_token,
        revoked.refresh_token,
    ]
    for token in gone:
        assert authority.lookup_token(tokens.parse(token).token_id) is None
    kept = authority.lookup_token(tokens.parse(refreshed.refresh_token).token_id)
    assert kept is not None and kept.consumed_at is None
    assert authority.lookup_token(tokens.parse(live.access_token).token_id) is not None
    assert authority.check_reissue(refreshed.refresh_token, now=T0 + 10_000).id == issued.family_id
    assert authority.prune(now=T0 + 10_000, grace_seconds=3600) == 0


def _reissue_outcome(authority: Authority, token: str, barrier: threading.Barrier) -> str:
    barrier.wait(timeout=RACE_TIMEOUT_SECONDS)
    try:
        authority.reissue(token, approved_by="tester", now=T0 + 1_000)
    except AuthError as exc:
        return exc.code
    return "ok"


def test_two_concurrent_reissues_of_one_expired_token_issue_one_pair(authority: Authority) -> None:
    issued = _expired_pair(authority)
    barrier = threading.Barrier(2)
    with ThreadPoolExecutor(max_workers=2) as pool:
        futures = [pool.submit(_reissue_outcome, authority, issued.refresh_token, barrier) for _ in range(2)]
        outcomes = [future.result(timeout=RACE_TIMEOUT_SECONDS) for future in futures]
    assert sorted(outcomes) == ["invalid_token", "ok"]
    assert authority.audit.path.read_text().count('"token.reissue"') == 1
