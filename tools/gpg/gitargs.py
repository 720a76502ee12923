"""The command lines git passes to ``gpg.program``, parsed into a sign or verify invocation.

Forms accepted (GIT-GPG.md): ``--status-fd=2 -bsau KEY`` (optionally followed by ``-``),
``--status-fd N``, ``-u KEY`` / ``-uKEY`` / ``--local-user KEY`` / ``--local-user=KEY``,
``--detach-sign --sign --armor``, and for verification
``--keyid-format=long --status-fd=1 --verify SIGFILE -``. Harmless gpg flags some wrappers add
(``--batch``, ``--no-tty``, ``--yes``, ``-q``, ``-v``) are ignored; anything else is a usage error,
because silently ignoring an option git relies on would produce a wrong signature.
"""

from __future__ import annotations

from tools.gpg.errors import UsageError

# Plain slotted classes rather than dataclasses: this module is on the shim's start-up path, and
# importing dataclasses/typing would cost more than the whole parse.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = ["SignArgs", "VerifyArgs", "parse_gpg_args"]

_KEYID_FORMATS = frozenset({"none", "short", "0xshort", "long", "0xlong"})
_VALUE_OPTIONS = frozenset({"status-fd", "local-user", "keyid-format"})
_IGNORED_FLAGS = frozenset({"batch", "no-tty", "yes", "quiet", "verbose"})


class SignArgs:
    """Make a detached armored signature of stdin with ``key``; status lines go to ``status_fd``."""

    __slots__ = ("key", "status_fd")

    def __init__(self, key: str, status_fd: int | None) -> None:
        self.key = key
        self.status_fd = status_fd

    def __eq__(self, other: object) -> bool:
        return isinstance(other, SignArgs) and (self.key, self.status_fd) == (other.key, other.status_fd)

    def __hash__(self) -> int:
        return hash((self.key, self.status_fd))

    def __repr__(self) -> str:
        return f"SignArgs(key={self.key!r}, status_fd={self.status_fd!r})"


class VerifyArgs:
    """Verify the detached signature in ``signature_path`` over ``data_path`` (``-`` is stdin)."""

    __slots__ = ("data_path", "keyid_format", "signature_path", "status_fd")

    def __init__(self, signature_path: str, data_path: str, status_fd: int | None, keyid_format: str) -> None:
        self.signature_path = signature_path
        self.data_path = data_path
        self.status_fd = status_fd
        self.keyid_format = keyid_format

    def _fields(self) -> tuple[str, str, int | None, str]:
        return (self.signature_path, self.data_path, self.status_fd, self.keyid_format)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, VerifyArgs) and self._fields() == other._fields()

    def __hash__(self) -> int:
        return hash(self._fields())

    def __repr__(self) -> str:
        return "VerifyArgs(signature_path={!r}, data_path={!r}, status_fd={!r}, keyid_format={!r})".format(
            *self._fields()
        )


class _Seen:
    def __init__(self) -> None:
        self.detach = False
        self.sign = False
        self.verify = False
        self.key: str | None = None
        self.status_fd: int | None = None
        self.keyid_format = "long"


def _status_fd(value: str) -> int:
    if not value.isdigit() or len(value) > 6:
        raise UsageError(f"--status-fd needs a file descriptor number, got {value[:20]!r}")
    return int(value)


def _apply_value(seen: _Seen, name: str, value: str) -> None:
    if name == "status-fd":
        seen.status_fd = _status_fd(value)
    elif name == "local-user":
        seen.key = value
    elif value not in _KEYID_FORMATS:
        raise UsageError(f"--keyid-format must be one of {', '.join(sorted(_KEYID_FORMATS))}")
    else:
        seen.keyid_format = value


def _long_option(seen: _Seen, arg: str, rest: list[str]) -> None:
    name, has_value, value = arg[2:].partition("=")
    if name in _VALUE_OPTIONS:
        if not has_value:
            if not rest:
                raise UsageError(f"--{name} needs a value")
            value = rest.pop(0)
        _apply_value(seen, name, value)
        return
    if has_value:
        raise UsageError(f"--{name} takes no value")
    if name == "detach-sign":
        seen.detach = True
    elif name == "sign":
        seen.sign = True
    elif name == "verify":
        seen.verify = True
    elif name not in _IGNORED_FLAGS and name != "armor":
        raise UsageError(f"unsupported option --{name}; agent-auth-gpg only signs and verifies for git")


def _short_bundle(seen: _Seen, arg: str, rest: list[str]) -> None:
    letters = arg[1:]
    for index, letter in enumerate(letters):
        if letter == "b":
            seen.detach = True
        elif letter == "s":
            seen.sign = True
        elif letter in "aqv":
            continue
        elif letter == "u":
            value = letters[index + 1 :]
            if not value:
                if not rest:
                    raise UsageError("-u needs a key")
                value = rest.pop(0)
            seen.key = value
            return
        else:
            raise UsageError(f"unsupported option -{letter}; agent-auth-gpg only signs and verifies for git")


def parse_gpg_args(argv: Sequence[str]) -> SignArgs | VerifyArgs:
    """Parse git's gpg argv (without the program name); raise :class:`UsageError` otherwise."""
    seen = _Seen()
    positionals: list[str] = []
    rest = list(argv)
    while rest:
        arg = rest.pop(0)
        if arg == "--":
            positionals += rest
            break
        if arg.startswith("--"):
            _long_option(seen, arg, rest)
        elif arg.startswith("-") and arg != "-":
            _short_bundle(seen, arg, rest)
        else:
            positionals.append(arg)
    if seen.verify:
        if seen.sign or seen.detach:
            raise UsageError("--verify cannot be combined with signing options")
        if len(positionals) != 2:
            raise UsageError("--verify needs a detached signature file and the data ('-' for stdin)")
        return VerifyArgs(
            signature_path=positionals[0],
            data_path=positionals[1],
            status_fd=seen.status_fd,
            keyid_format=seen.keyid_format,
        )
    if not (seen.sign or seen.detach):
        raise UsageError("nothing to do: git passes -bsau KEY to sign or --verify SIG - to verify")
    if not seen.detach:
        raise UsageError("only detached signatures (-b / --detach-sign) are supported")
    if positionals not in ([], ["-"]):
        raise UsageError("the data to sign is read from stdin; file arguments are not supported")
    if not seen.key:
        raise UsageError("no signing key: git passes -u KEY; set `git config user.signingkey <fingerprint>`")
    return SignArgs(key=seen.key, status_fd=seen.status_fd)
