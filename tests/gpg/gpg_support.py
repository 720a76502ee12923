"""Shared helpers for the gpg tests: key generation in a throwaway GNUPGHOME, sample payloads."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

from tools.gpg.runner import GpgRunner

PASSPHRASE = b"correct horse battery staple"


@dataclass(frozen=True)
class GpgHome:
    path: Path
    alice: str  # passphrase-less, allowed
    bob: str  # passphrase-protected, allowed
    mallory: str  # passphrase-less, NOT allowed

    def runner(self, **kwargs: object) -> GpgRunner:
        return GpgRunner(gnupghome=self.path, timeout_seconds=10.0, **kwargs)  # type: ignore[arg-type]


def run_gpg(home: Path, *args: str) -> str:
    completed = subprocess.run(
        ["gpg", "--homedir", str(home), "--batch", "--no-tty", *args],
        capture_output=True,
        check=True,
        text=True,
    )
    return completed.stdout


def generate_key(home: Path, user_id: str, passphrase: bytes) -> str:
    run_gpg(
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
    listing = run_gpg(home, "--with-colons", "--list-secret-keys", user_id)
    return next(line.split(":")[9] for line in listing.splitlines() if line.startswith("fpr:"))


def kill_agent(home: Path) -> None:
    subprocess.run(["gpgconf", "--homedir", str(home), "--kill", "gpg-agent"], capture_output=True, check=False)


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
