"""Helpers for the GPG integration tests: a throwaway GNUPGHOME with real ed25519 keys, a daemon context
with the GPG surface, and a real daemon (uvicorn on 127.0.0.1:0 plus the admin socket) serving it.

The GNUPGHOME lives on a short /tmp path (gpg-agent's socket path must stay under ~100 bytes) and its
agent is killed afterwards. Plain functions and context managers, so test modules wrap them in fixtures
of the scope they need without a shared conftest.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from auth.scopes import Tier
from mcp_server.daemon.compose import compose
from mcp_server.daemon.context import DaemonContext
from mcp_server.daemon.serve import open_context
from mcp_server.integration import Integration
from mcp_server.integrations.gpg import Gpg
from mcp_server.integrations.gpg.passphrases import PASSPHRASE_FILE, FilePassphrases
from mcp_server.settings import Settings, load_settings
from tests.gpg.gpg_support import PASSPHRASE, generate_key, kill_agent
from tests.support.daemon import RunningDaemon, start_daemon

__all__ = [
    "PASSPHRASE",
    "GpgKeys",
    "daemon_context",
    "gpg_keys",
    "start_gpg_daemon",
    "token",
]


@dataclass(frozen=True)
class GpgKeys:
    home: Path
    alice: str  # no passphrase, allowlisted
    bob: str  # passphrase-protected, allowlisted (passphrase in the daemon's passphrase store)
    mallory: str  # no passphrase, NOT allowlisted

    @property
    def allowed(self) -> tuple[str, str]:
        return (self.alice, self.bob)


@contextmanager
def gpg_keys() -> Iterator[GpgKeys]:
    home = Path(tempfile.mkdtemp(prefix="g", dir="/tmp"))
    home.chmod(0o700)
    # No passphrase caching: Bob's key must get its passphrase from the daemon's store every time.
    (home / "gpg-agent.conf").write_text("default-cache-ttl 0\nmax-cache-ttl 0\n")
    try:
        yield GpgKeys(
            home=home,
            alice=generate_key(home, "Alice Example <alice@example.org>", b""),
            bob=generate_key(home, "Bob Example <bob@example.org>", PASSPHRASE),
            mallory=generate_key(home, "Mallory Example <mallory@example.org>", b""),
        )
    finally:
        kill_agent(home)
        shutil.rmtree(home, ignore_errors=True)


def gpg_settings(env: Mapping[str, str], keys: GpgKeys, **overrides: Any) -> Settings:
    """Settings for the GPG surface; Bob's passphrase goes into the (file) passphrase store."""
    settings = load_settings(env=env, overrides={"gpg_home": keys.home, "gpg_allowed_keys": keys.allowed, **overrides})
    FilePassphrases(settings.config_dir / PASSPHRASE_FILE).set(keys.bob, PASSPHRASE.decode())
    return settings


@contextmanager
def daemon_context(settings: Settings, integrations: Sequence[Integration] | None = None) -> Iterator[DaemonContext]:
    """A daemon context (gate, broker, store, audit) with ``integrations`` (GPG by default) attached, without HTTP."""
    ctx = open_context(settings)
    try:
        compose(ctx, [Gpg()] if integrations is None else integrations, mcp=False)
        yield ctx
    finally:
        ctx.gate.close()
        ctx.authority.audit.close()
        ctx.authority.db.dispose()


def token(ctx: DaemonContext, label: str = "gpg-test", **scopes: str) -> str:
    """An access token with scopes given as ``gpg_sign="prompt"`` (``_`` for ``:``)."""
    tiers = {name.replace("_", ":", 1): Tier(tier) for name, tier in scopes.items()}
    return ctx.authority.create_family(tiers, label=label).access_token


def start_gpg_daemon(settings: Settings) -> RunningDaemon:
    """A daemon with the GPG and MCP surfaces, in a thread; stop it with ``RunningDaemon.stop``."""
    return start_daemon(settings=settings, integrations=[Gpg()])
