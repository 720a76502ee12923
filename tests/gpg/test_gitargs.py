"""Every argv form git (and common wrappers) pass to gpg.program parses to the right invocation."""

from __future__ import annotations

import pytest

from tools.gpg.errors import UsageError
from tools.gpg.gitargs import SignArgs, VerifyArgs, parse_gpg_args

FPR = "0123456789ABCDEF0123456789ABCDEF01234567"


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["--status-fd=2", "-bsau", FPR], SignArgs(FPR, 2)),
        (["--status-fd=2", "-bsau", FPR, "-"], SignArgs(FPR, 2)),
        (["--status-fd", "2", "-bsau", FPR], SignArgs(FPR, 2)),
        (["--status-fd=2", "-bsa", "-u", FPR], SignArgs(FPR, 2)),
        (["--status-fd=2", "-bsa", f"-u{FPR}"], SignArgs(FPR, 2)),
        (["--status-fd=2", "--detach-sign", "--sign", "--armor", "--local-user", FPR], SignArgs(FPR, 2)),
        (["--status-fd=2", "--detach-sign", "--armor", f"--local-user={FPR}"], SignArgs(FPR, 2)),
        (["-bsau", "Alice Example <alice@example.org>"], SignArgs("Alice Example <alice@example.org>", None)),
        (["--batch", "--no-tty", "--status-fd=5", "-bsau", FPR, "--", "-"], SignArgs(FPR, 5)),
    ],
)
def test_git_sign_command_lines_parse_to_a_detached_sign(argv: list[str], expected: SignArgs) -> None:
    assert parse_gpg_args(argv) == expected


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (
            ["--keyid-format=long", "--status-fd=1", "--verify", "/tmp/sig", "-"],
            VerifyArgs("/tmp/sig", "-", 1, "long"),
        ),
        (
            ["--keyid-format", "0xlong", "--status-fd", "1", "--verify", "/tmp/sig", "-"],
            VerifyArgs("/tmp/sig", "-", 1, "0xlong"),
        ),
        (["--verify", "sig", "data"], VerifyArgs("sig", "data", None, "long")),
    ],
)
def test_git_verify_command_lines_parse_to_a_verify(argv: list[str], expected: VerifyArgs) -> None:
    assert parse_gpg_args(argv) == expected


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["-bsa"],  # no key
        ["-sau", FPR],  # not detached
        ["--status-fd=x", "-bsau", FPR],
        ["--status-fd"],
        ["-bsau"],
        ["--verify", "sig"],
        ["--verify", "sig", "-", "-bsau", FPR],
        ["-bsau", FPR, "file.txt"],
        ["--encrypt", "-r", FPR],
        ["-bsxu", FPR],
        ["--keyid-format=weird", "--verify", "sig", "-"],
        ["--armor=yes", "-bsu", FPR],
    ],
)
def test_command_lines_git_never_uses_are_usage_errors(argv: list[str]) -> None:
    with pytest.raises(UsageError) as caught:
        parse_gpg_args(argv)
    assert caught.value.code == "usage"
