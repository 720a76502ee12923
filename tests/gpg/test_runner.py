"""GpgRunner process handling: timeouts, the agent restart, the environment and key listing."""

from __future__ import annotations

import stat
import time
from pathlib import Path

import pytest
from gpg_support import GpgHome, commit_payload

from tests.support.platform import open_fd_count
from tools.gpg.errors import GpgTimeoutError, GpgUnavailableError, InvalidKeySpecError
from tools.gpg.runner import GpgRunner, gpg_search_path, gpgconf_beside

TIMEOUT_SECONDS = 1.0


def _script(path: Path, body: str) -> str:
    path.write_text("#!/bin/sh\n" + body)
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return str(path)


def test_a_gpg_that_never_answers_times_out_and_the_next_call_works(gpg_home: GpgHome, tmp_path: Path) -> None:
    """The first call hangs (a child `sleep` holds the pipes, so only a process-group kill frees them)."""
    flag = tmp_path / "hang-once"
    flag.touch()
    fake = _script(
        tmp_path / "gpg",
        f'if [ -e "{flag}" ]; then rm -f "{flag}"; sleep 60; echo done; exit 0; fi\nexec gpg "$@"\n',
    )
    runner = GpgRunner(gnupghome=gpg_home.path, gpg_binary=fake, timeout_seconds=TIMEOUT_SECONDS)
    started = time.monotonic()
    with pytest.raises(GpgTimeoutError) as caught:
        runner.sign_detached(gpg_home.alice, commit_payload())
    elapsed = time.monotonic() - started
    assert caught.value.code == "gpg_timeout"
    assert elapsed < TIMEOUT_SECONDS + 5, "the hung call must end near its deadline, not when sleep exits"
    signed = runner.sign_detached(gpg_home.alice, commit_payload())
    assert signed.sig_created.fingerprint == gpg_home.alice


def test_a_timeout_restarts_the_gpg_agent_of_the_home(tmp_path: Path) -> None:
    log = tmp_path / "gpgconf.log"
    fake_gpg = _script(tmp_path / "gpg", "sleep 60\n")
    fake_gpgconf = _script(tmp_path / "gpgconf", f'echo "$@" >> "{log}"\n')
    home = tmp_path / "home"
    runner = GpgRunner(gnupghome=home, gpg_binary=fake_gpg, gpgconf_binary=fake_gpgconf, timeout_seconds=0.5)
    with pytest.raises(GpgTimeoutError):
        runner.verify_detached(b"sig", b"payload")
    assert log.read_text().split() == ["--homedir", str(home), "--kill", "gpg-agent"]


def test_gpg_runs_with_a_scrubbed_environment_and_the_configured_home(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AGENT_AUTH_TOKEN", "secret-token")
    monkeypatch.setenv("GPG_AGENT_INFO", "/elsewhere")
    dump = tmp_path / "env"
    fake = _script(tmp_path / "gpg", f'env > "{dump}"\necho "$@" >> "{dump}"\nexit 2\n')
    home = tmp_path / "home"
    runner = GpgRunner(gnupghome=home, gpg_binary=fake, search_path="/usr/bin:/bin")
    runner.verify_detached(b"sig", b"payload")
    lines = dump.read_text().splitlines()
    env = dict(line.split("=", 1) for line in lines[:-1] if "=" in line)
    assert {k for k in env if k not in {"PWD", "SHLVL", "_"}} == {"PATH", "LANG", "LC_ALL", "GNUPGHOME"}
    assert env["GNUPGHOME"] == str(home) and env["LANG"] == "C"
    argv = lines[-1].split()
    for flag in ("--batch", "--no-tty", "--status-fd"):
        assert flag in argv
    assert argv[argv.index("--pinentry-mode") + 1] == "loopback"


def test_the_passphrase_travels_on_a_pipe_never_in_argv_or_environment(tmp_path: Path) -> None:
    dump = tmp_path / "dump"
    fake = _script(
        tmp_path / "gpg",
        f'echo "$@" > "{dump}"; env >> "{dump}"\n'
        'fd=$(echo "$@" | sed -n "s/.*--passphrase-fd \\([0-9]*\\).*/\\1/p")\n'
        f'cat "/dev/fd/$fd" > "{tmp_path}/passphrase"\nexit 2\n',
    )
    runner = GpgRunner(gnupghome=tmp_path / "h", gpg_binary=fake)
    with pytest.raises(Exception):  # noqa: B017 - the fake gpg fails; only its inputs matter here
        runner.sign_detached("A" * 40, commit_payload(), passphrase=b"s3cret-pass")
    assert b"s3cret-pass" not in dump.read_bytes()
    assert (tmp_path / "passphrase").read_bytes() == b"s3cret-pass\n"


def test_a_missing_gpg_binary_is_gpg_unavailable(tmp_path: Path) -> None:
    runner = GpgRunner(gnupghome=tmp_path, gpg_binary=str(tmp_path / "no-such-gpg"))
    with pytest.raises(GpgUnavailableError) as caught:
        runner.list_secret_keys()
    assert caught.value.code == "gpg_unavailable"


def test_the_runner_signs_only_with_full_fingerprints(gpg_home: GpgHome) -> None:
    with pytest.raises(InvalidKeySpecError):
        gpg_home.runner().sign_detached(gpg_home.alice[-16:], commit_payload())


def test_no_file_descriptors_leak_across_calls(gpg_home: GpgHome) -> None:
    runner = gpg_home.runner()
    runner.list_secret_keys()
    before = open_fd_count()
    for _ in range(5):
        runner.sign_detached(gpg_home.alice, commit_payload())
    assert open_fd_count() == before


def test_gpgconf_is_taken_from_beside_the_configured_gpg(tmp_path: Path) -> None:
    """GPG Suite / Homebrew ship gpg and gpgconf together; a bare 'gpgconf' may not be on launchd's PATH."""
    log = tmp_path / "gpgconf.log"
    fake_gpg = _script(tmp_path / "gpg", "sleep 60\n")
    _script(tmp_path / "gpgconf", f'echo "$@" >> "{log}"\n')
    home = tmp_path / "home"
    runner = GpgRunner(gnupghome=home, gpg_binary=fake_gpg, timeout_seconds=0.5, search_path="/usr/bin:/bin")
    with pytest.raises(GpgTimeoutError):
        runner.verify_detached(b"sig", b"payload")
    assert log.read_text().split() == ["--homedir", str(home), "--kill", "gpg-agent"]


def test_gpgconf_beside_a_gpg_found_on_the_search_path(tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    _script(bin_dir / "gpg", "exit 0\n")
    gpgconf = _script(bin_dir / "gpgconf", "exit 0\n")
    assert gpgconf_beside("gpg", str(bin_dir)) == gpgconf
    assert gpgconf_beside("gpg", str(tmp_path / "empty")) == "gpgconf"


def test_a_mac_search_path_finds_homebrew_and_gpg_suite() -> None:
    launchd_path = "/usr/bin:/bin:/usr/sbin:/sbin"
    mac = gpg_search_path(launchd_path, platform="darwin").split(":")
    assert mac[:4] == launchd_path.split(":")
    assert {"/opt/homebrew/bin", "/usr/local/bin", "/usr/local/MacGPG2/bin"} <= set(mac)
    assert gpg_search_path(launchd_path, platform="linux") == launchd_path


@pytest.mark.parametrize("configured", ["unset", "GNUPGHOME", "~/.gnupg"])
def test_a_timeout_leaves_the_persons_own_gpg_agent_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, configured: str
) -> None:
    """Killing the person's agent would also break their own terminal's and editor's signing."""
    log = tmp_path / "gpgconf.log"
    fake_gpg = _script(tmp_path / "gpg", "sleep 60\n")
    fake_gpgconf = _script(tmp_path / "gpgconf", f'echo "$@" >> "{log}"\n')
    monkeypatch.setenv("HOME", str(tmp_path / "person"))
    monkeypatch.setenv("GNUPGHOME", str(tmp_path / "person-keys"))
    gnupghome = {"unset": None, "GNUPGHOME": tmp_path / "person-keys", "~/.gnupg": tmp_path / "person" / ".gnupg"}
    runner = GpgRunner(
        gnupghome=gnupghome[configured], gpg_binary=fake_gpg, gpgconf_binary=fake_gpgconf, timeout_seconds=0.5
    )
    assert runner.owns_agent is False
    with pytest.raises(GpgTimeoutError) as caught:
        runner.verify_detached(b"sig", b"payload")
    assert not log.exists()
    assert "gpgconf --kill gpg-agent" in caught.value.message
