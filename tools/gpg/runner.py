"""Running the ``gpg`` binary: detached signing, verifying and listing secret keys.

Every call is ``--batch --no-tty --pinentry-mode loopback`` with status lines on a dedicated pipe,
a scrubbed environment and an explicit ``--homedir``. The runner only ever names keys by full
fingerprint with a trailing ``!`` (gpg then uses exactly that key, never a fallback). A
passphrase travels on its own pipe (``--passphrase-fd``), never in argv or the environment.

A call that outlives ``timeout_seconds`` has its whole process group killed, and the gpg-agent of
the home directory is restarted (``gpgconf --kill gpg-agent``): a hung pinentry otherwise wedges
the agent for every later call.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from tools.gpg.errors import (
    BadPassphraseError,
    GpgTimeoutError,
    GpgUnavailableError,
    InvalidKeySpecError,
    InvalidNotationError,
    InvalidRequestError,
    NoSuchKeyError,
    PassphraseRequiredError,
    SignerMismatchError,
    SigningFailedError,
)
from tools.gpg.keys import GpgKey, parse_colon_listing
from tools.gpg.status import (
    SigCreated,
    StatusLine,
    VerifyOutcome,
    find_sig_created,
    parse_status,
    summarize_verify,
)

__all__ = [
    "KEYID_FORMATS",
    "GpgRunner",
    "Notation",
    "RawSignature",
    "RawVerification",
    "validate_notation",
]

_log = logging.getLogger(__name__)

KEYID_FORMATS = frozenset({"none", "short", "0xshort", "long", "0xlong"})
_FULL_FINGERPRINT = re.compile(r"\A(?:[0-9A-F]{40}|[0-9A-F]{64})\Z")
# User notations must be name@domain (RFC 4880 5.2.3.16); we never allow the critical "!" form.
_NOTATION_NAME = re.compile(r"\A[A-Za-z0-9][A-Za-z0-9._-]{0,63}@[A-Za-z0-9][A-Za-z0-9.-]{0,127}\Z")
_NOTATION_VALUE = re.compile(r"\A[\x21-\x7e][\x20-\x7e]{0,255}\Z")
_SIGNATURE_HEADER = b"-----BEGIN PGP SIGNATURE-----"
_MAX_PASSPHRASE_BYTES = 4096
_GPG_ERR_BAD_PASSPHRASE = 11
_GPG_ERR_NO_SECKEY = 17
_AGENT_KILL_TIMEOUT_SECONDS = 5.0
_STATUS_DRAIN_SECONDS = 2.0


@dataclass(frozen=True)
class Notation:
    """An OpenPGP signature notation ``name@domain=value`` (e.g. an approval or audit id)."""

    name: str
    value: str

    def __post_init__(self) -> None:
        validate_notation(self.name, self.value)


def validate_notation(name: str, value: str) -> None:
    """Raise :class:`InvalidNotationError` unless ``name@domain=value`` is safe to pass to gpg."""
    if not _NOTATION_NAME.match(name):
        raise InvalidNotationError(
            f"notation name {name!r} must look like 'label@example.org' (letters, digits, . _ -)"
        )
    if not _NOTATION_VALUE.match(value):
        raise InvalidNotationError("notation value must be 1-256 printable ASCII characters without a leading space")


@dataclass(frozen=True)
class RawSignature:
    """A detached ASCII-armored signature and the status lines gpg wrote while making it."""

    signature: bytes
    status: tuple[StatusLine, ...]
    sig_created: SigCreated


@dataclass(frozen=True)
class RawVerification:
    """The outcome of ``gpg --verify``: exit code (0 good, 1 bad, 2 error) and status lines."""

    exit_code: int
    status: tuple[StatusLine, ...]
    outcome: VerifyOutcome
    diagnostics: str


@dataclass(frozen=True)
class _Completed:
    returncode: int
    stdout: bytes
    stderr: str
    status: tuple[StatusLine, ...]


@dataclass
class _StatusReader:
    fd: int
    chunks: list[bytes] = field(default_factory=list)

    def run(self) -> None:
        try:
            while chunk := os.read(self.fd, 65536):
                self.chunks.append(chunk)
        finally:
            os.close(self.fd)


def require_fingerprint(fingerprint: str) -> str:
    """Return ``fingerprint`` upper-cased if it is a full 40/64-hex fingerprint, else raise."""
    if not isinstance(fingerprint, str) or not _FULL_FINGERPRINT.match(fingerprint.upper()):
        raise InvalidKeySpecError("the gpg runner needs a full 40- or 64-hex key fingerprint")
    return fingerprint.upper()


# Where GnuPG lives on a Mac besides the system PATH: Homebrew on Apple silicon and on Intel, GPG Suite.
# A launchd agent starts with PATH=/usr/bin:/bin:/usr/sbin:/sbin, where none of them is.
MACOS_GPG_DIRS = ("/opt/homebrew/bin", "/usr/local/bin", "/usr/local/MacGPG2/bin")


def gpg_search_path(environ_path: str | None, *, platform: str) -> str:
    """The PATH gpg is looked up on: the environment's, plus the usual macOS install locations on a Mac."""
    parts = [p for p in (environ_path or os.defpath).split(os.pathsep) if p]
    if platform == "darwin":
        parts += [d for d in MACOS_GPG_DIRS if d not in parts]
    return os.pathsep.join(parts)


def gpgconf_beside(gpg_binary: str, search_path: str) -> str:
    """``gpgconf`` from the same installation as ``gpg_binary`` (GPG Suite and Homebrew ship both together)."""
    found = gpg_binary if os.sep in gpg_binary else shutil.which(gpg_binary, path=search_path)
    if found:
        sibling = Path(found).parent / "gpgconf"
        if sibling.is_file() and os.access(sibling, os.X_OK):
            return str(sibling)
    return "gpgconf"


def _is_personal_home(gnupghome: str | None, environ: Mapping[str, str]) -> bool:
    """Whether gpg's home is the person's own (their agent serves their terminals and editors too)."""
    if gnupghome is None:
        return True
    personal = {Path(environ.get("HOME", "~")).expanduser() / ".gnupg"}
    if environ.get("GNUPGHOME"):
        personal.add(Path(environ["GNUPGHOME"]).expanduser())
    resolved = {p.resolve() for p in personal}
    return Path(gnupghome).expanduser().resolve() in resolved


class GpgRunner:
    """Runs gpg against one home directory. Construct once, share freely (it keeps no state).

    After a timeout the home's gpg-agent is restarted only when that home is agent-auth's own (a
    ``gpg_home`` other than the person's ``~/.gnupg`` or ``$GNUPGHOME``): the person's agent also serves
    their own terminal and editor, so it is left alone and the error says how to restart it.
    """

    def __init__(
        self,
        *,
        gnupghome: str | os.PathLike[str] | None,
        gpg_binary: str = "gpg",
        gpgconf_binary: str | None = None,
        timeout_seconds: float = 10.0,
        search_path: str | None = None,
        platform: str = sys.platform,
    ) -> None:
        self._gnupghome = None if gnupghome is None else str(Path(gnupghome))
        self._gpg = gpg_binary
        self._search_path = (
            search_path if search_path is not None else gpg_search_path(os.environ.get("PATH"), platform=platform)
        )
        self._gpgconf = gpgconf_binary or gpgconf_beside(gpg_binary, self._search_path)
        self.timeout_seconds = timeout_seconds
        self._home_fallback = os.environ.get("HOME", "") if gnupghome is None else ""
        self.owns_agent = not _is_personal_home(self._gnupghome, os.environ)

    def __repr__(self) -> str:
        return f"GpgRunner(gnupghome={self._gnupghome!r}, gpg_binary={self._gpg!r})"

    # --- public operations ------------------------------------------------------------------------

    def list_secret_keys(self) -> list[GpgKey]:
        """Every key whose secret part is in the home directory, with uids and subkeys."""
        completed = self._run(
            [
                "--with-colons",
                "--fixed-list-mode",
                "--with-fingerprint",
                "--with-fingerprint",
                "--list-secret-keys",
            ],
            stdin=b"",
        )
        if completed.returncode != 0:
            # gpg exits 2 when the keyring does not exist yet; that simply means "no keys".
            if "No such file" in completed.stderr or not completed.stdout:
                return []
            raise GpgUnavailableError(
                f"gpg could not list keys ({_last_diagnostic(completed.stderr)}); "
                "check that GNUPGHOME exists and is readable"
            )
        return parse_colon_listing(completed.stdout.decode("utf-8", "replace"))

    def sign_detached(
        self,
        fingerprint: str,
        payload: bytes,
        *,
        passphrase: bytes | None = None,
        notations: Sequence[Notation] = (),
    ) -> RawSignature:
        """Make a detached ASCII-armored signature of ``payload`` with exactly this key."""
        fingerprint = require_fingerprint(fingerprint)
        args = ["--local-user", f"{fingerprint}!", "--detach-sign", "--armor"]
        for notation in notations:
            validate_notation(notation.name, notation.value)
            args += ["--sig-notation", f"{notation.name}={notation.value}"]
        if passphrase is not None and (len(passphrase) > _MAX_PASSPHRASE_BYTES or b"\n" in passphrase):
            raise InvalidRequestError("the passphrase must be one line of at most 4096 bytes")
        completed = self._run(args, stdin=payload, passphrase=passphrase)
        if completed.returncode != 0:
            raise _sign_failure(completed, fingerprint, passphrase_given=passphrase is not None)
        created = find_sig_created(list(completed.status))
        if created is None or not completed.stdout.startswith(_SIGNATURE_HEADER):
            raise GpgUnavailableError(
                "gpg reported success without a SIG_CREATED line and an armored signature; "
                "check the gpg binary and its version"
            )
        if created.fingerprint != fingerprint:
            raise SignerMismatchError(
                f"gpg signed with {created.fingerprint} instead of the requested {fingerprint}; "
                "allowlist the exact (sub)key fingerprint that carries the signing capability"
            )
        return RawSignature(signature=completed.stdout, status=completed.status, sig_created=created)

    def verify_detached(self, signature: bytes, payload: bytes, *, keyid_format: str = "long") -> RawVerification:
        """Check a detached signature. Never raises for a bad signature: read ``outcome``."""
        if keyid_format not in KEYID_FORMATS:
            raise InvalidRequestError(f"keyid_format must be one of {', '.join(sorted(KEYID_FORMATS))}")
        with tempfile.TemporaryDirectory(prefix="aa-gpg-") as workdir:
            signature_path = Path(workdir) / "signature.asc"
            signature_path.write_bytes(signature)
            completed = self._run(
                ["--keyid-format", keyid_format, "--verify", str(signature_path), "-"],
                stdin=payload,
            )
        return RawVerification(
            exit_code=completed.returncode,
            status=completed.status,
            outcome=summarize_verify(list(completed.status)),
            diagnostics=completed.stderr,
        )

    def restart_agent(self) -> None:
        """Kill this home directory's gpg-agent; gpg starts a fresh one on the next call."""
        argv = [self._gpgconf]
        if self._gnupghome is not None:
            argv += ["--homedir", self._gnupghome]
        argv += ["--kill", "gpg-agent"]
        try:
            subprocess.run(  # noqa: S603 - fixed argv, no shell
                argv,
                env=self._environment(),
                capture_output=True,
                timeout=_AGENT_KILL_TIMEOUT_SECONDS,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            _log.warning("could not restart gpg-agent with %s: %s", self._gpgconf, exc)

    # --- process handling -------------------------------------------------------------------------

    def _environment(self) -> dict[str, str]:
        env = {"PATH": self._search_path, "LANG": "C", "LC_ALL": "C"}
        if self._gnupghome is not None:
            env["GNUPGHOME"] = self._gnupghome
        elif self._home_fallback:
            env["HOME"] = self._home_fallback
        return env

    def _run(self, args: list[str], *, stdin: bytes, passphrase: bytes | None = None) -> _Completed:
        status_read, status_write = os.pipe()
        child_fds = [status_write]
        argv = [self._gpg]
        if self._gnupghome is not None:
            argv += ["--homedir", self._gnupghome]
        argv += [
            "--batch",
            "--no-tty",
            "--pinentry-mode",
            "loopback",
            "--disable-dirmngr",
            "--exit-on-status-write-error",
            "--status-fd",
            str(status_write),
        ]
        if passphrase is not None:
            passphrase_read, passphrase_write = os.pipe()
            # A passphrase is far smaller than a pipe buffer, so this write cannot block.
            os.write(passphrase_write, passphrase + b"\n")
            os.close(passphrase_write)
            child_fds.append(passphrase_read)
            argv += ["--passphrase-fd", str(passphrase_read)]
        argv += args
        reader = _StatusReader(status_read)
        thread = threading.Thread(target=reader.run, name="gpg-status", daemon=True)
        try:
            process = subprocess.Popen(  # noqa: S603 - fixed argv, no shell
                argv,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                pass_fds=child_fds,
                env=self._environment(),
                start_new_session=True,
            )
        except OSError as exc:
            os.close(status_read)
            raise GpgUnavailableError(
                f"cannot run gpg binary {self._gpg!r} ({exc.strerror}); install GnuPG 2.2+ or configure the path to gpg"
            ) from exc
        finally:
            for fd in child_fds:
                os.close(fd)
        # The reader closes status_read once every writer (gpg) has gone.
        thread.start()
        try:
            stdout, stderr = process.communicate(stdin, timeout=self.timeout_seconds)
        except subprocess.TimeoutExpired:
            self._kill_group(process)
            if self.owns_agent:
                self.restart_agent()
                agent = "agent-auth's gpg-agent was restarted"
            else:
                agent = (
                    "your own gpg-agent was left running; if a pinentry is stuck, restart it with "
                    "'gpgconf --kill gpg-agent'"
                )
            raise GpgTimeoutError(
                f"gpg did not finish within {self.timeout_seconds:g}s and was stopped; {agent}. A key that needs "
                "a passphrase must get it from the passphrase store (pinentry cannot be answered here)"
            ) from None
        thread.join(_STATUS_DRAIN_SECONDS)
        status_text = b"".join(reader.chunks).decode("utf-8", "replace")
        return _Completed(
            returncode=process.returncode,
            stdout=stdout,
            stderr=stderr.decode("utf-8", "replace"),
            status=tuple(parse_status(status_text)),
        )

    @staticmethod
    def _kill_group(process: subprocess.Popen[bytes]) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        try:
            process.communicate(timeout=_STATUS_DRAIN_SECONDS)
        except subprocess.TimeoutExpired:
            # A process outside the group still holds a pipe; the child itself is dead.
            process.wait(timeout=_STATUS_DRAIN_SECONDS)


def _last_diagnostic(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.startswith("gpg: ")]
    text = lines[-1][5:] if lines else "no diagnostic"
    return "".join(ch if ch.isprintable() else "?" for ch in text)[:200]


def _failure_code(status: Sequence[StatusLine]) -> int | None:
    for line in status:
        if line.keyword == "FAILURE" and len(line.args) >= 2 and line.args[1].isdigit():
            return int(line.args[1]) & 0xFFFF
    return None


def _sign_failure(completed: _Completed, fingerprint: str, *, passphrase_given: bool) -> Exception:
    keywords = {line.keyword for line in completed.status}
    code = _failure_code(completed.status)
    if "INV_SGNR" in keywords or code == _GPG_ERR_NO_SECKEY:
        return NoSuchKeyError(
            f"the secret key {fingerprint} is not in the signing GNUPGHOME; import it there "
            "or remove it from the allowlist"
        )
    if not passphrase_given and ("NEED_PASSPHRASE" in keywords or code == _GPG_ERR_BAD_PASSPHRASE):
        return PassphraseRequiredError(
            f"key {fingerprint} is protected by a passphrase; store it in the passphrase store "
            "(keyring) for this fingerprint"
        )
    if code == _GPG_ERR_BAD_PASSPHRASE:
        return BadPassphraseError(
            f"gpg rejected the stored passphrase for key {fingerprint}; update the passphrase store"
        )
    return SigningFailedError(
        f"gpg could not sign with {fingerprint}: {_last_diagnostic(completed.stderr)} (exit {completed.returncode})"
    )
