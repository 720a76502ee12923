"""Per-key token buckets (one per token family)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(slots=True)
class _Bucket:
    tokens: float
    updated_at: float


class RateLimiter:
    """Allows ``per_minute`` requests per key on average, with bursts up to ``per_minute``."""

    def __init__(self, per_minute: int, *, max_keys: int = 100_000) -> None:
        if per_minute < 1:
            raise ValueError("per_minute must be at least 1")
        self.capacity = float(per_minute)
        self.rate_per_second = per_minute / 60.0
        self._buckets: dict[str, _Bucket] = {}
        self._max_keys = max_keys

    def acquire(self, key: str, now: float) -> float:
        """Take one token; return 0.0 when allowed, else the seconds until one is available."""
        bucket = self._buckets.get(key)
        if bucket is None:
            if len(self._buckets) >= self._max_keys:
                self._evict_full(now)
            bucket = self._buckets[key] = _Bucket(self.capacity, now)
        elapsed = now - bucket.updated_at
        if elapsed > 0:
            bucket.tokens = min(self.capacity, bucket.tokens + elapsed * self.rate_per_second)
        # A clock that jumps backwards must not mint tokens; keep the later timestamp.
        bucket.updated_at = max(bucket.updated_at, now)
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            return 0.0
        return (1.0 - bucket.tokens) / self.rate_per_second

    def _evict_full(self, now: float) -> None:
        horizon = self.capacity / self.rate_per_second
        for key in [k for k, b in self._buckets.items() if now - b.updated_at >= horizon]:
            del self._buckets[key]
        if len(self._buckets) >= self._max_keys:
            self._buckets.clear()
