"""Every near-miss of a real access or refresh token is refused over HTTP, and the signature check takes
the same time however many leading bytes of a forged signature match.

The unit tests in tests/auth check ``tokens.verify`` on strings; here the same mutations travel through the
daemon (``/validate`` for access tokens, ``/token/refresh`` for refresh tokens) and the untouched tokens
still work afterwards, so a refusal is a refusal of the mutation and not a daemon that stopped answering.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Iterator

import httpx2
import pytest

from auth import tokens
from auth.tokens import TokenKind
from tests.support.daemon import RunningDaemon

HEX = "0123456789abcdef"


def mutations(token: str, substitutes_per_position: int) -> Iterator[str]:
    """Single-character changes, truncations, extensions, prefix swaps and case changes of ``token``."""
    for index, char in enumerate(token):
        others = [c for c in HEX + "_AZ" if c != char][:substitutes_per_position]
        if substitutes_per_position >= 16:
            others += [c for c in "AFG-_=\x00 é" if c != char]
        for other in others:
            yield token[:index] + other + token[index + 1 :]
    for length in range(len(token)):
        yield token[:length]
    for suffix in ("0", "a", "_", "==", " ", "\x00", "a" * 64):
        yield token + suffix
        yield suffix + token
    prefix, rest = token.split("_", 1)
    for other in ("aa", "rt", "AA", "RT", "ab", "r", "aaa"):
        if other != prefix:
            yield f"{other}_{rest}"
    yield token.upper()
    yield token.swapcase()
    yield token[:3] + token[3:].upper()
    yield token.replace("_", "-")


def _check_all(daemon: RunningDaemon, substitutes_per_position: int) -> int:
    family = daemon.create_family({"things:read": "allow"})
    tried = 0
    with httpx2.Client(base_url=daemon.url, timeout=10) as http:
        for forged in mutations(family.access_token, substitutes_per_position):
            assert forged != family.access_token
            reply = http.post("/agent-auth/v1/validate", json={"token": forged, "required_scope": "things:read"})
            tried += 1
            assert reply.status_code in (400, 401), (forged, reply.status_code, reply.text)
            assert reply.json()["error"] in ("invalid_token", "malformed_request"), reply.text
            if forged.isascii() and forged.isprintable() and forged.strip() == forged and forged:
                status = http.get("/agent-auth/v1/token/status", headers={"Authorization": f"Bearer {forged}"})
                assert status.status_code == 401, (forged, status.text)
        for forged in mutations(family.refresh_token, substitutes_per_position):
            reply = http.post("/agent-auth/v1/token/refresh", json={"refresh_token": forged})
            tried += 1
            assert reply.status_code in (400, 401), (forged, reply.status_code, reply.text)
            assert reply.json()["error"] in ("invalid_token", "malformed_request"), reply.text
        # The originals are untouched: the access token validates and the refresh token is unconsumed.
        ok = http.post("/agent-auth/v1/validate", json={"token": family.access_token, "required_scope": "things:read"})
        assert ok.status_code == 200, ok.text
        refreshed = http.post("/agent-auth/v1/token/refresh", json={"refresh_token": family.refresh_token})
        assert refreshed.status_code == 200, refreshed.text
    return tried


def test_near_misses_of_real_tokens_are_refused_over_http(start_full: object) -> None:
    """Fast profile: two substitutions per position plus every truncation, extension, prefix and case change."""
    tried = _check_all(start_full(rate_limit_per_minute=1_000_000), substitutes_per_position=2)  # type: ignore[operator]
    assert tried > 2 * 2 * tokens.TOKEN_LENGTH


@pytest.mark.heavy
def test_every_single_character_change_of_real_tokens_is_refused_over_http(start_full: object) -> None:
    """Every position replaced by every other hex digit and a set of out-of-alphabet characters."""
    tried = _check_all(start_full(rate_limit_per_minute=1_000_000), substitutes_per_position=16)  # type: ignore[operator]
    assert tried > 2 * 15 * tokens.TOKEN_LENGTH


@pytest.mark.heavy
def test_forged_signature_rejection_time_does_not_depend_on_matching_leading_bytes() -> None:
    """Signatures sharing 0, 16, 32, 48 or 63 leading hex digits with the real one are refused equally fast.

    Interleaved rounds of each class, the median per class over many rounds; the slowest median must stay
    within 1.5x of the fastest (a byte-by-byte comparison on a 64-character signature shows a clear trend,
    and the HMAC computation dominates a constant-time one). A generous bound: CI machines are noisy.
    """
    key = bytes(range(32))
    token, _ = tokens.mint(TokenKind.ACCESS, key)
    prefix, token_id, signature = token.split("_")
    matching = [0, 16, 32, 48, 63]
    forged = {}
    for count in matching:
        flipped = HEX[(HEX.index(signature[count]) + 1) % 16] if count < 64 else ""
        tail = "".join(HEX[(HEX.index(c) + 3) % 16] for c in signature[count + 1 :])
        forged[count] = f"{prefix}_{token_id}_{signature[:count]}{flipped}{tail}"
        assert len(forged[count]) == len(token) and forged[count] != token
    samples: dict[int, list[float]] = {count: [] for count in matching}
    per_batch = 200
    for _round in range(300):
        for count in matching:
            candidate = forged[count]
            start = time.perf_counter_ns()
            for _ in range(per_batch):
                try:
                    tokens.verify(candidate, key, TokenKind.ACCESS)
                except tokens.InvalidTokenError:
                    pass
                else:
                    raise AssertionError("a forged signature verified")
            samples[count].append((time.perf_counter_ns() - start) / per_batch)
    medians = {count: statistics.median(values) for count, values in samples.items()}
    ratio = max(medians.values()) / min(medians.values())
    print(f"median ns per rejection by matching leading hex digits: {medians}, max/min {ratio:.3f}")
    assert ratio < 1.5, medians
