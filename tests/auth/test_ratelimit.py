"""Token buckets per family: bursts up to the per-minute figure, refill at per_minute/60 per second, fail closed."""

from __future__ import annotations

import pytest

from auth.ratelimit import RateLimiter


def test_a_fresh_key_may_burst_up_to_its_per_minute_figure_and_no_further() -> None:
    limiter = RateLimiter(3)
    assert [limiter.acquire("fam", 100.0) for _ in range(3)] == [0.0, 0.0, 0.0]
    assert limiter.acquire("fam", 100.0) == pytest.approx(20.0)  # one token per 60/3 seconds


def test_the_wait_shrinks_as_the_bucket_refills_and_a_refilled_token_is_granted() -> None:
    limiter = RateLimiter(60)  # one token a second
    for _ in range(60):
        assert limiter.acquire("fam", 0.0) == 0.0
    assert limiter.acquire("fam", 0.25) == pytest.approx(0.75)
    assert limiter.acquire("fam", 0.9) == pytest.approx(0.1)
    assert limiter.acquire("fam", 1.0) == 0.0
    assert limiter.acquire("fam", 1.0) == pytest.approx(1.0)


def test_a_refused_request_takes_nothing_from_the_bucket() -> None:
    limiter = RateLimiter(1)
    assert limiter.acquire("fam", 0.0) == 0.0
    for _ in range(5):
        assert limiter.acquire("fam", 30.0) == pytest.approx(30.0)
    assert limiter.acquire("fam", 60.0) == 0.0


def test_a_long_idle_key_refills_only_up_to_its_capacity() -> None:
    limiter = RateLimiter(2)
    assert limiter.acquire("fam", 0.0) == 0.0
    assert [limiter.acquire("fam", 10_000.0) for _ in range(2)] == [0.0, 0.0]
    assert limiter.acquire("fam", 10_000.0) > 0.0


def test_keys_have_separate_buckets() -> None:
    limiter = RateLimiter(1)
    assert limiter.acquire("a", 0.0) == 0.0
    assert limiter.acquire("a", 0.0) > 0.0
    assert limiter.acquire("b", 0.0) == 0.0


def test_a_clock_jumping_backwards_mints_no_tokens() -> None:
    limiter = RateLimiter(1)
    assert limiter.acquire("fam", 1_000.0) == 0.0
    assert limiter.acquire("fam", 0.0) == pytest.approx(60.0)
    # Time is measured from the later reading: 59 s after it, still a second short.
    assert limiter.acquire("fam", 1_059.0) == pytest.approx(1.0)
    assert limiter.acquire("fam", 1_060.0) == 0.0


def test_a_full_table_forgets_only_buckets_that_have_refilled_completely() -> None:
    limiter = RateLimiter(60, max_keys=2)  # a bucket is full again 60 s after its last use
    assert limiter.acquire("old", 0.0) == 0.0
    for _ in range(60):
        limiter.acquire("busy", 30.0)
    assert limiter.acquire("new", 60.0) == 0.0  # evicts "old" (idle 60 s), keeps "busy" (idle 30 s)
    assert limiter.acquire("busy", 60.0) == 0.0  # 30 s refilled 30 tokens
    assert [limiter.acquire("busy", 60.0) for _ in range(29)] == [0.0] * 29
    assert limiter.acquire("busy", 60.0) > 0.0, "the busy bucket was evicted and came back full"


def test_a_bucket_is_forgotten_only_once_it_has_refilled_whatever_the_limit() -> None:
    limiter = RateLimiter(6, max_keys=2)  # 6 a minute: one token every 10 s, full again 60 s after last use
    assert limiter.acquire("old", 0.0) == 0.0
    for _ in range(6):
        limiter.acquire("busy", 40.0)
    assert limiter.acquire("new", 61.0) == 0.0  # evicts "old" (idle 61 s), keeps "busy" (idle 21 s)
    assert [limiter.acquire("busy", 61.0) for _ in range(2)] == [0.0, 0.0]  # 21 s refilled 2.1 tokens
    assert limiter.acquire("busy", 61.0) > 0.0, "the busy bucket was evicted and came back full"


def test_a_table_full_of_recent_buckets_is_cleared_rather_than_growing() -> None:
    limiter = RateLimiter(1, max_keys=2)
    assert limiter.acquire("a", 0.0) == 0.0
    assert limiter.acquire("b", 0.0) == 0.0
    assert limiter.acquire("c", 1.0) == 0.0
    assert len(limiter._buckets) == 1
    assert limiter.acquire("a", 1.0) == 0.0, "cleared buckets start full"


@pytest.mark.parametrize("per_minute", [0, -1])
def test_a_limit_below_one_per_minute_is_refused(per_minute: int) -> None:
    with pytest.raises(ValueError, match="per_minute"):
        RateLimiter(per_minute)
