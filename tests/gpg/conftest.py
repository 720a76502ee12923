"""Fixtures: one throwaway GNUPGHOME per test session with real ed25519 keys.

The home lives on a short /tmp path because gpg-agent's socket path must stay under ~100 bytes; its
agent is killed at the end of the session.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tools.gpg.passphrase import StaticPassphrases
from tools.gpg.policy import GpgPolicy
from tools.gpg.runner import GpgRunner
from tools.gpg.service import GpgService

PASSPHRASE = b"correct horse battery staple"


@dataclass(frozen=True)
class GpgHome:
    path: Path
    alice: str  # passphrase-less, allowed
    bob: str  # passphrase-protected, allowed
    mallory: str  # passphrase-less, NOT allowed

    def runner(self, **kwargs: object) -> GpgRunner:
        return GpgRunner(gnupghome=self.path, timeout_seconds=10.0, **kwargs)  # type: ignore[arg-type]


def _gpg(home: Path, *args: str) -> str:
    completed = subprocess.run(
        ["gpg", "--homedir", str(home), "--batch", "--no-tty", *args],
        capture_output=True,
        check=True,
        text=True,
    )
    return completed.stdout


def _generate(home: Path, user_id: str, passphrase: bytes) -> str:
    _gpg(
        home,
        "--pinentry-mode",
        "loopback",
        "--passphrase",
        passphrase.decode(),
        "--quick-gen-key",
        user_id,
        "ed25519",
        "sign",
        "never",
    )
    listing = _gpg(home, "--with-colons", "--list-secret-keys", user_id)
    return next(line.split(":")[9] for line in listing.splitlines() if line.startswith("fpr:"))


def kill_agent(home: Path) -> None:
    subprocess.run(["gpgconf", "--homedir", str(home), "--kill", "gpg-agent"], capture_output=True, check=False)


@pytest.fixture(scope="session")
def gpg_home() -> Iterator[GpgHome]:
    path = Path(tempfile.mkdtemp(prefix="g", dir="/tmp"))
    path.chmod(0o700)
    try:
        home = GpgHome(
            path=path,
            alice=_generate(path, "Alice Example <alice@example.org>", b""),
            bob=_generate(path, "Bob Example <bob@example.org>", PASSPHRASE),
            mallory=_generate(path, "Mallory Example <mallory@example.org>", b""),
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


def commit_payload(subject: str = "Add the widget", *, parents: int = 1) -> bytes:
    lines = ["tree " + "a" * 40]
    lines += ["parent " + f"{i:x}" * 40 for i in range(1, parents + 1)]
    lines += [
        "author Alice Example <alice@example.org> 1700000000 +0100",
        "committer Alice Example <alice@example.org> 1700000000 +0100",
        "",
        subject,
        "",
        "A longer body.",
        "",
    ]
    return "\n".join(lines).encode()
