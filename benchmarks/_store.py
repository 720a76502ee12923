"""Token stores for benchmarks: an isolated authority, one benchmark family, and bulk-generated families.

Bulk families are written the way the Authority writes them — scopes sealed with its field cipher (AES-GCM,
bound to the row id), access and refresh token rows per family — but in one transaction of
``executemany`` inserts, so 10⁶ families take about a minute instead of hours of single-row transactions.
"""

from __future__ import annotations

import json
import secrets
import sqlite3
import time
from collections.abc import Mapping
from dataclasses import dataclass

from auth import tokens
from auth.authority import Authority
from auth.scopes import Tier
from auth.tokens import TokenKind
from mcp_server.daemon.serve import open_context
from mcp_server.settings import Settings, load_settings

BENCH_SCOPE = "bench:read"
BENCH_SCOPES = {BENCH_SCOPE: Tier.ALLOW, "bench:write": Tier.PROMPT}


@dataclass
class BenchStore:
    settings: Settings
    access_token: str
    refresh_token: str
    family_id: str


def create_store(env: Mapping[str, str]) -> BenchStore:
    """Create keys, the store and one family holding ``bench:read`` at the allow tier."""
    settings = load_settings(env=env)
    ctx = open_context(settings)
    try:
        issued = ctx.authority.create_family(BENCH_SCOPES, label="bench", access_ttl_seconds=86_400)
    finally:
        ctx.gate.close()
        ctx.authority.audit.close()
        ctx.authority.db.dispose()
    return BenchStore(settings, issued.access_token, issued.refresh_token, issued.family_id)


def add_families(authority: Authority, count: int, *, sample: int = 0, batch: int = 50_000) -> list[str]:
    """Insert ``count`` active families (each with an access and a refresh token) in one transaction.

    Returns access-token strings of ``sample`` of them, chosen across the whole range (for cold lookups).
    """
    signing = authority.keys.signing
    seal = authority.cipher.encrypt
    now = time.time()
    scopes_plain = json.dumps({BENCH_SCOPE: "allow", "bench:write": "prompt"}, sort_keys=True).encode()
    step = max(1, count // sample) if sample else 0
    samples: list[str] = []
    conn = sqlite3.connect(authority.db.path, isolation_level=None)
    try:
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = OFF")
        conn.execute("PRAGMA cache_size = -1048576")  # 1 GiB: random-order index inserts stay in memory
        conn.execute("BEGIN IMMEDIATE")
        done = 0
        while done < count:
            size = min(batch, count - done)
            families = []
            token_rows = []
            for offset in range(size):
                family_id = secrets.token_hex(16)
                access_id = secrets.token_hex(16)
                blob = seal(scopes_plain, table="families", column="scopes", row_id=family_id)
                families.append((family_id, f"bulk-{done + offset}", blob, now, 900, 28_800))
                token_rows.append((access_id, family_id, "access", now, now + 86_400))
                token_rows.append((secrets.token_hex(16), family_id, "refresh", now, now + 86_400))
                if step and (done + offset) % step == 0 and len(samples) < sample:
                    samples.append(tokens.mint(TokenKind.ACCESS, signing, access_id)[0])
            conn.executemany(
                "INSERT INTO families (id, label, scopes_blob, created_at, access_ttl_seconds, refresh_ttl_seconds)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                families,
            )
            conn.executemany(
                "INSERT INTO tokens (id, family_id, kind, created_at, expires_at) VALUES (?, ?, ?, ?, ?)",
                token_rows,
            )
            done += size
        conn.execute("COMMIT")
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        conn.close()
    return samples


def populate(env: Mapping[str, str], count: int, *, sample: int) -> tuple[BenchStore, list[str], float]:
    """A fresh store with the benchmark family plus ``count - 1`` bulk families; returns the build seconds."""
    started = time.perf_counter()
    store = create_store(env)
    ctx = open_context(store.settings)
    try:
        samples = add_families(ctx.authority, max(0, count - 1), sample=sample)
    finally:
        ctx.gate.close()
        ctx.authority.audit.close()
        ctx.authority.db.dispose()
    return store, samples, time.perf_counter() - started
