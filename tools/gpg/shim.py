"""``agent-auth-gpg``: the program git runs as ``gpg.program``, signing through the daemon.

git calls it as gpg (``--status-fd=2 -bsau KEY`` to sign, ``--keyid-format=long --status-fd=1
--verify SIGFILE -`` to verify), with the payload on stdin. This module turns that into a call on a
:class:`SigningBackend` — by default :class:`HttpBridgeBackend`, which POSTs the daemon's
``/gpg-bridge/v1/sign`` and ``/verify`` — and answers like gpg: the armored signature on stdout,
status lines on the status fd (never ``SIG_CREATED``/``GOODSIG`` first, for git 2.10-2.35), exit
0 (good), 1 (bad signature) or 2 (error), and one clear line on stderr when something fails.

It runs on every commit, so it must start fast: stdlib only, and the HTTP machinery is imported
only when a request is actually made.
"""

from __future__ import annotations

import os
import sys

from tools.gpg.errors import (
    BridgeRejectedError,
    BridgeUnreachableError,
    GpgError,
    ShimNotConfiguredError,
    UsageError,
)
from tools.gpg.gitargs import SignArgs, VerifyArgs, parse_gpg_args

# typing is imported for the type checker only: it would add ~5 ms to every commit.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence
    from typing import BinaryIO

    from tools.gpg.backend import SigningBackend

    BackendFactory = Callable[[Mapping[str, str]], SigningBackend]

__all__ = [
    "HttpBridgeBackend",
    "ShimSignResult",
    "ShimVerifyResult",
    "default_backend_factory",
    "main",
]

PROGRAM = "agent-auth-gpg"
_STATUS_PREFIX = "[GNUPG:] "
_SIGNATURE_HEADER = b"-----BEGIN PGP SIGNATURE-----"
_MAX_STDIN_BYTES = 16 * 1024 * 1024
_EXIT_GOOD, _EXIT_BAD, _EXIT_ERROR = 0, 1, 2

USAGE = f"""\
usage: {PROGRAM} [gpg options as git passes them]
       {PROGRAM} --setup [--signing-key FINGERPRINT]
       {PROGRAM} --help

A gpg stand-in for git: signatures are made by the agent-auth daemon, which holds the keys.
git runs it as:   {PROGRAM} --status-fd=2 -bsau KEY           (payload on stdin)
                  {PROGRAM} --keyid-format=long --status-fd=1 --verify SIGFILE -

--setup           configure the current repository: gpg.program={PROGRAM},
                  commit.gpgsign=true and, with --signing-key, user.signingkey
--signing-key F   the full fingerprint of the key to sign with (see `agent-auth` key listing)

environment:
  AGENT_AUTH_URL    base URL of the agent-auth daemon (e.g. http://127.0.0.1:9300)
  AGENT_AUTH_TOKEN  an access token carrying the gpg signing scope
"""


class ShimSignResult:
    """A detached armored signature and the status lines to relay to git."""

    __slots__ = ("signature", "status_lines")

    def __init__(self, signature: bytes, status_lines: Sequence[str]) -> None:
        self.signature = signature
        self.status_lines = tuple(status_lines)


class ShimVerifyResult:
    """gpg's verdict: the status lines to relay and gpg's exit code (0 good, 1 bad, 2 error)."""

    __slots__ = ("exit_code", "status_lines")

    def __init__(self, status_lines: Sequence[str], exit_code: int) -> None:
        self.status_lines = tuple(status_lines)
        self.exit_code = exit_code


# --- the default backend: the daemon's REST bridge ---------------------------------------------------


class HttpBridgeBackend:
    """Calls ``POST {url}/gpg-bridge/v1/sign|verify`` with ``Authorization: Bearer <token>``.

    ``token_provider`` is called once per request, so a provider that refreshes tokens works.
    Uses :mod:`http.client` directly (imported on first use): :mod:`urllib.request` would double
    the shim's run time for no benefit here.
    """

    def __init__(self, url: str, token_provider: Callable[[], str], *, timeout_seconds: float = 60.0) -> None:
        scheme, separator, rest = url.partition("://")
        if scheme not in ("http", "https") or not separator or not rest:
            raise ShimNotConfiguredError(f"AGENT_AUTH_URL must be an http(s) URL, got {url[:60]!r}")
        authority, _, base_path = rest.partition("/")
        self._scheme = scheme
        self._authority = authority
        self._base_path = "/" + base_path.strip("/") if base_path.strip("/") else ""
        self._url = f"{scheme}://{authority}{self._base_path}"
        self._token_provider = token_provider
        self._timeout_seconds = timeout_seconds

    def __repr__(self) -> str:
        return f"HttpBridgeBackend({self._url!r})"

    def sign(self, key: str, payload: bytes) -> ShimSignResult:
        body = self._post(
            "/gpg-bridge/v1/sign",
            {
                "local_user": key,
                "payload_b64": _b64encode(payload),
                "armor": True,
                "status_fd_enabled": True,
                "keyid_format": "long",
            },
            accept_codes=(),
        )
        signature_b64 = body.get("signature_b64")
        status_text = body.get("status_text", "")
        if not isinstance(signature_b64, str) or not isinstance(status_text, str):
            raise BridgeUnreachableError("the daemon's sign response lacks signature_b64/status_text")
        return ShimSignResult(_b64decode(signature_b64), status_text.splitlines())

    def verify(self, signature: bytes, payload: bytes, keyid_format: str) -> ShimVerifyResult:
        body = self._post(
            "/gpg-bridge/v1/verify",
            {
                "signature_b64": _b64encode(signature),
                "payload_b64": _b64encode(payload),
                "keyid_format": keyid_format,
            },
            accept_codes=("bad_signature",),
        )
        status_text = body.get("status_text", "")
        exit_code = body.get("exit_code")
        if not isinstance(status_text, str):
            status_text = ""
        if body.get("error") == "bad_signature":
            if not isinstance(exit_code, int) or exit_code == 0:
                exit_code = _EXIT_BAD
            if not status_text:  # a seed daemon says only "bad_signature"
                status_text = "[GNUPG:] NEWSIG\n[GNUPG:] BADSIG 0000000000000000 unknown\n"
        elif not isinstance(exit_code, int):
            exit_code = _EXIT_GOOD
        return ShimVerifyResult(status_text.splitlines(), exit_code)

    def _post(self, path: str, payload: dict[str, object], *, accept_codes: Sequence[str]) -> dict[str, object]:
        import http.client
        import json

        connection_class = http.client.HTTPSConnection if self._scheme == "https" else http.client.HTTPConnection
        data = json.dumps(payload).encode("utf-8")
        headers = {
            "Content-Type": "application/json",
            "Accept": "application/json",
            "Authorization": f"Bearer {self._token_provider()}",
            "User-Agent": PROGRAM,
        }
        connection = connection_class(self._authority, timeout=self._timeout_seconds)
        try:
            connection.request("POST", self._base_path + path, body=data, headers=headers)
            response = connection.getresponse()
            raw, status = response.read(), response.status
        except (OSError, http.client.HTTPException) as exc:
            raise BridgeUnreachableError(
                f"cannot reach the agent-auth daemon at {self._url} ({exc}); is `agent-auth serve` "
                "running and AGENT_AUTH_URL right?"
            ) from exc
        finally:
            connection.close()
        try:
            body = json.loads(raw)
        except ValueError:
            body = None
        if not isinstance(body, dict):
            raise BridgeUnreachableError(f"the daemon answered HTTP {status} without a JSON object")
        error = body.get("error")
        if status == 200 and error is None:
            return body
        if isinstance(error, str) and error in accept_codes:
            return body
        code = error if isinstance(error, str) else "http_error"
        detail = body.get("detail")
        hint = f": {detail}" if isinstance(detail, str) and detail else ""
        raise BridgeRejectedError(f"the daemon refused ({code}, HTTP {status}){hint}", code=code, http_status=status)


def _b64encode(data: bytes) -> str:
    import binascii

    return binascii.b2a_base64(data, newline=False).decode("ascii")


def _b64decode(text: str) -> bytes:
    import binascii

    try:
        return binascii.a2b_base64(text.encode("ascii"), strict_mode=True)
    except (binascii.Error, UnicodeEncodeError) as exc:
        raise BridgeUnreachableError("the daemon returned a signature that is not base64") from exc


def default_backend_factory(environ: Mapping[str, str]) -> SigningBackend:
    """The HTTP bridge configured from ``AGENT_AUTH_URL`` and ``AGENT_AUTH_TOKEN``."""
    url = environ.get("AGENT_AUTH_URL", "")
    token = environ.get("AGENT_AUTH_TOKEN", "")
    if not url:
        raise ShimNotConfiguredError("set AGENT_AUTH_URL to the agent-auth daemon, e.g. http://127.0.0.1:9300")
    if not token:
        raise ShimNotConfiguredError("set AGENT_AUTH_TOKEN to an access token with the gpg signing scope")
    return HttpBridgeBackend(url, lambda: token)


# --- gpg-compatible output ---------------------------------------------------------------------------


def _clean_status(lines: Sequence[str]) -> list[str]:
    """Keep well-formed status lines only; nothing the daemon sends can forge extra lines."""
    return [line for line in lines if line.startswith(_STATUS_PREFIX) and line.isprintable()]


def _keyword(line: str) -> str:
    return line[len(_STATUS_PREFIX) :].split(" ", 1)[0]


def _sign_status(lines: list[str]) -> list[str]:
    created = [line for line in lines if _keyword(line) == "SIG_CREATED"]
    if not created:
        raise BridgeUnreachableError("the daemon's signature came without a SIG_CREATED status line")
    if _keyword(lines[0]) == "SIG_CREATED":
        fingerprint = created[0].rsplit(" ", 1)[-1]
        lines = [f"{_STATUS_PREFIX}KEY_CONSIDERED {fingerprint} 0", *lines]
    return lines


def _verify_status(lines: list[str]) -> list[str]:
    if not lines or _keyword(lines[0]) != "NEWSIG":
        lines = [f"{_STATUS_PREFIX}NEWSIG", *lines]
    return lines


def _verify_message(lines: list[str]) -> str:
    for line in lines:
        keyword = _keyword(line)
        args = line[len(_STATUS_PREFIX) + len(keyword) + 1 :]
        if keyword == "GOODSIG":
            return f"{PROGRAM}: Good signature from key {args}"
        if keyword in ("BADSIG", "EXPSIG", "EXPKEYSIG", "REVKEYSIG"):
            return f"{PROGRAM}: {keyword} from key {args}"
        if keyword == "ERRSIG":
            return f"{PROGRAM}: cannot check signature by key {args.split(' ', 1)[0]} (unknown key?)"
    return f"{PROGRAM}: no valid signature found"


class _Io:
    def __init__(self, stdin: BinaryIO, stdout: BinaryIO, stderr: BinaryIO, *, echo_to_tty: bool) -> None:
        self.stdin, self.stdout, self.stderr = stdin, stdout, stderr
        self.echo_to_tty = echo_to_tty

    def status(self, fd: int | None, lines: Sequence[str]) -> None:
        if fd is None or not lines:
            return
        data = ("\n".join(lines) + "\n").encode("utf-8")
        if fd == 1:
            self.stdout.write(data)
            self.stdout.flush()
        elif fd == 2:
            self.stderr.write(data)
            self.stderr.flush()
        else:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]

    def error(self, message: str) -> None:
        line = f"{PROGRAM}: error: {' '.join(message.split())}\n".encode("utf-8", "replace")
        self.stderr.write(line)
        self.stderr.flush()
        if self.echo_to_tty:
            # git (2.39) swallows a failing gpg.program's stderr and prints only "gpg failed to sign
            # the data"; the terminal, when there is one, is the only place the user sees why.
            try:
                fd = os.open("/dev/tty", os.O_WRONLY | os.O_NOCTTY | os.O_NONBLOCK)
            except OSError:
                return
            try:
                os.write(fd, line)
            except OSError:
                pass
            finally:
                os.close(fd)

    def read_stdin(self) -> bytes:
        data = self.stdin.read(_MAX_STDIN_BYTES + 1)
        if len(data) > _MAX_STDIN_BYTES:
            raise UsageError(f"the data on stdin is larger than {_MAX_STDIN_BYTES} bytes")
        return data


def _run_sign(args: SignArgs, backend: SigningBackend, io: _Io) -> int:
    payload = io.read_stdin()
    result = backend.sign(args.key, payload)
    if not result.signature.startswith(_SIGNATURE_HEADER):
        raise BridgeUnreachableError("the daemon returned something that is not an armored signature")
    lines = _sign_status(_clean_status(result.status_lines))
    io.stdout.write(result.signature)
    io.stdout.flush()
    io.status(args.status_fd, lines)
    return _EXIT_GOOD


def _run_verify(args: VerifyArgs, backend: SigningBackend, io: _Io) -> int:
    try:
        with open(args.signature_path, "rb") as handle:
            signature = handle.read(_MAX_STDIN_BYTES)
    except OSError as exc:
        raise UsageError(f"cannot read signature file {args.signature_path!r}: {exc.strerror}") from exc
    if args.data_path == "-":
        payload = io.read_stdin()
    else:
        try:
            with open(args.data_path, "rb") as handle:
                payload = handle.read(_MAX_STDIN_BYTES)
        except OSError as exc:
            raise UsageError(f"cannot read data file {args.data_path!r}: {exc.strerror}") from exc
    result = backend.verify(signature, payload, args.keyid_format)
    lines = _verify_status(_clean_status(result.status_lines))
    io.status(args.status_fd, lines)
    io.stderr.write((_verify_message(lines) + "\n").encode("utf-8", "replace"))
    io.stderr.flush()
    return result.exit_code if result.exit_code in (_EXIT_GOOD, _EXIT_BAD, _EXIT_ERROR) else _EXIT_ERROR


# --- --setup -----------------------------------------------------------------------------------------


def _run_setup(argv: Sequence[str], io: _Io) -> int:
    import subprocess

    from tools.gpg.policy import normalize_fingerprint

    signing_key: str | None = None
    rest = list(argv)
    while rest:
        arg = rest.pop(0)
        if arg.startswith("--signing-key="):
            signing_key = arg.partition("=")[2]
        elif arg == "--signing-key" and rest:
            signing_key = rest.pop(0)
        else:
            raise UsageError(f"unexpected argument {arg[:40]!r} for --setup")
    settings = [("gpg.program", PROGRAM), ("commit.gpgsign", "true")]
    if signing_key is not None:
        settings.append(("user.signingkey", normalize_fingerprint(signing_key)))
    for name, value in settings:
        completed = subprocess.run(  # noqa: S603 - fixed argv
            ["git", "config", "--local", name, value],  # noqa: S607 - git from PATH, as git users expect
            capture_output=True,
            text=True,
            check=False,
        )
        if completed.returncode != 0:
            raise UsageError(
                f"`git config {name}` failed ({completed.stderr.strip() or completed.returncode}); "
                "run --setup inside a git repository"
            )
        io.stdout.write(f"git config {name} {value}\n".encode())
    io.stdout.flush()
    return _EXIT_GOOD


# --- entry point -------------------------------------------------------------------------------------


def main(
    argv: Sequence[str] | None = None,
    backend_factory: BackendFactory = default_backend_factory,
    *,
    environ: Mapping[str, str] | None = None,
    stdin: BinaryIO | None = None,
    stdout: BinaryIO | None = None,
    stderr: BinaryIO | None = None,
) -> int:
    """Run the shim; returns gpg's exit code (0 good, 1 bad signature, 2 error)."""
    args = list(sys.argv[1:] if argv is None else argv)
    io = _Io(
        stdin if stdin is not None else sys.stdin.buffer,
        stdout if stdout is not None else sys.stdout.buffer,
        stderr if stderr is not None else sys.stderr.buffer,
        echo_to_tty=stderr is None and bool(args) and args[0] != "--setup",
    )
    try:
        if not args or args[0] in ("--help", "-h"):
            io.stdout.write(USAGE.encode())
            io.stdout.flush()
            return _EXIT_GOOD if args else _EXIT_ERROR
        if args[0] == "--setup":
            return _run_setup(args[1:], io)
        invocation = parse_gpg_args(args)
        backend = backend_factory(os.environ if environ is None else environ)
        if isinstance(invocation, SignArgs):
            return _run_sign(invocation, backend, io)
        return _run_verify(invocation, backend, io)
    except GpgError as exc:
        io.error(f"{exc.message} [{exc.code}]")
        return _EXIT_ERROR
    except KeyboardInterrupt:
        io.error("interrupted")
        return _EXIT_ERROR


if __name__ == "__main__":
    sys.exit(main())
