"""Fixtures: one throwaway GNUPGHOME per test session with real ed25519 keys.

The home lives on a short /tmp path because gpg-agent's socket path must stay under ~100 bytes; its
agent is killed at the end of the session.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from gpg_support import PASSPHRASE, GpgHome, generate_key, kill_agent

from tools.gpg.passphrase import StaticPassphrases
from tools.gpg.policy import GpgPolicy
from tools.gpg.service import GpgService


@pytest.fixture(scope="session")
def gpg_home() -> Iterator[GpgHome]:
    path = Path(tempfile.mkdtemp(prefix="g", dir="/tmp"))
    path.chmod(0o700)
    # No passphrase caching: every signature with Bob's key must really get the passphrase from us.
    (path / "gpg-agent.conf").write_text("default-cache-ttl 0\nmax-cache-ttl 0\n")
    try:
        home = GpgHome(
            path=path,
            alice=generate_key(path, "Alice Example <alice@example.org>", b""),
            bob=generate_key(path, "Bob Example <bob@example.org>", PASSPHRASE),
            mallory=generate_key(path, "Mallory Example <mallory@example.org>", b""),
        )
        yield home
    finally:
        kill_agent(path)
        shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="session")
def service(gpg_home: GpgHome) -> GpgService:
    return GpgService(
        gpg_home.runner(),
        GpgPolicy([gpg_home.alice, gpg_home.bob]),
        StaticPassphrases({gpg_home.bob: PASSPHRASE}),
    )
