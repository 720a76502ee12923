"""Benchmark ``git commit -S`` through ``agent-auth-gpg`` (a real daemon, allow tier) against plain gpg.

Run: ``.venv/bin/python benchmarks/bench_gpg.py [--rounds N]`` (needs git, gpg and ``pip install -e .``).

Each round makes one empty signed commit per variant, interleaved so drift hits all alike:

* ``gpg``          ``gpg.program=gpg`` with the daemon's GNUPGHOME (the baseline);
* ``shim/env``     ``gpg.program=agent-auth-gpg`` with ``AGENT_AUTH_URL`` + ``AGENT_AUTH_TOKEN``;
* ``shim/stored``  the same with the token from stored client credentials (0600 file store);
* ``unsigned``     ``git commit`` without ``-S`` (what git itself costs).

It prints medians and the shim's extra cost over plain gpg (target: at most +50 ms), then the shim's
start-up (``agent-auth-gpg --help``) against ``python -c pass``. Not part of the unit suite.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from mcp_server.client.credentials import Credentials, CredentialStore  # noqa: E402
from tests.integrations.gpg_fixtures import gpg_keys, gpg_settings, start_gpg_daemon, token  # noqa: E402
from tests.support.daemon import isolated_env  # noqa: E402

SHIM = Path(sys.executable).parent / "agent-auth-gpg"
TARGET_EXTRA_MS = 50.0


def _timed(argv: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(argv, env=env, check=True, capture_output=True)
    return (time.perf_counter() - start) * 1000


def _repo(root: Path, name: str, env: dict[str, str], program: str | None, key: str) -> Path:
    repo = root / name
    subprocess.run(["git", "init", "-q", str(repo)], env=env, check=True)
    config = [("user.name", "Alice Example"), ("user.email", "alice@example.org"), ("user.signingkey", key)]
    if program is not None:
        config.append(("gpg.program", program))
    for item, value in config:
        subprocess.run(["git", "-C", str(repo), "config", item, value], env=env, check=True)
    return repo


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=40, help="signed commits per variant (default 40)")
    args = parser.parse_args()
    if not SHIM.exists():
        raise SystemExit(f"{SHIM} is missing; run `pip install -e .` first")

    with tempfile.TemporaryDirectory(prefix="bench-gpg-") as scratch, gpg_keys() as keys:
        root = Path(scratch)
        with isolated_env(root / "home") as daemon_env:
            daemon = start_gpg_daemon(gpg_settings(daemon_env, keys))
            try:
                access = token(daemon.ctx, label="bench", gpg_sign="allow", gpg_verify="allow")
                base = {"PATH": os.environ["PATH"], "HOME": str(root), "GIT_CONFIG_NOSYSTEM": "1"}
                gpg_env = {**base, "GNUPGHOME": str(keys.home)}
                env_env = {**base, "AGENT_AUTH_URL": daemon.url, "AGENT_AUTH_TOKEN": access}
                stored_env = {
                    **base,
                    "XDG_CONFIG_HOME": str(root / "client"),
                    "AGENT_AUTH_CREDENTIALS_STORE": "file",
                }
                issued = daemon.ctx.authority.create_family(
                    dict(daemon.ctx.gate.authenticate(access).scopes), label="bench-stored"
                )
                CredentialStore(config_dir=root / "client" / "agent-auth", use_keyring=False).save(
                    Credentials(daemon.url, issued.access_token, issued.refresh_token, time.time() + 3600)
                )
                variants = {
                    "gpg": (_repo(root, "gpg", gpg_env, "gpg", keys.alice), gpg_env, ["-S"]),
                    "shim/env": (_repo(root, "env", env_env, str(SHIM), keys.alice), env_env, ["-S"]),
                    "shim/stored": (_repo(root, "stored", stored_env, str(SHIM), keys.alice), stored_env, ["-S"]),
                    "unsigned": (_repo(root, "plain", base, None, keys.alice), base, []),
                }
                samples: dict[str, list[float]] = {name: [] for name in variants}
                for round_number in range(args.rounds + 1):
                    for name, (repo, env, flags) in variants.items():
                        argv = [
                            "git",
                            "-C",
                            str(repo),
                            "commit",
                            "-q",
                            "--allow-empty",
                            *flags,
                            "-m",
                            f"r{round_number}",
                        ]
                        elapsed = _timed(argv, env)
                        if round_number:  # the first round warms caches and the gpg-agent
                            samples[name].append(elapsed)
            finally:
                daemon.stop()

        medians = {name: statistics.median(values) for name, values in samples.items()}
        print(f"git commit, median of {args.rounds} interleaved rounds (ms):")
        for name, value in medians.items():
            print(f"  {name:<12} {value:7.1f}")
        for name in ("shim/env", "shim/stored"):
            extra = medians[name] - medians["gpg"]
            verdict = "within" if extra <= TARGET_EXTRA_MS else "OVER"
            print(
                f"  {name} - gpg = {extra:+.1f} ms ({medians[name] / medians['gpg']:.2f}x); "
                f"{verdict} the +{TARGET_EXTRA_MS:.0f} ms target"
            )

        startup: dict[str, list[float]] = {"python -c pass": [], "agent-auth-gpg --help": []}
        for _ in range(args.rounds):
            startup["python -c pass"].append(_timed([sys.executable, "-c", "pass"], dict(os.environ)))
            startup["agent-auth-gpg --help"].append(_timed([str(SHIM), "--help"], dict(os.environ)))
        start_medians = {name: statistics.median(values) for name, values in startup.items()}
        print("start-up, median (ms):")
        for name, value in start_medians.items():
            print(f"  {name:<22} {value:6.1f}")
        extra = start_medians["agent-auth-gpg --help"] - start_medians["python -c pass"]
        print(f"  shim start-up over bare python: {extra:+.1f} ms")


if __name__ == "__main__":
    main()
