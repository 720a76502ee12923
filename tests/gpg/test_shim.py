"""agent-auth-gpg in process, with a fake backend: gpg-compatible output, ordering and exit codes."""

from __future__ import annotations

import io
from collections.abc import Mapping
from pathlib import Path

import pytest
from gpg_support import commit_payload

from tools.gpg.errors import BridgeRejectedError
from tools.gpg.shim import HttpBridgeBackend, ShimSignResult, ShimVerifyResult, main

FPR = "0123456789ABCDEF0123456789ABCDEF01234567"
ARMOR = b"-----BEGIN PGP SIGNATURE-----\n\nAAAA\n-----END PGP SIGNATURE-----\n"
SIG_CREATED = f"[GNUPG:] SIG_CREATED D 22 8 00 1700000000 {FPR}"


class FakeBackend:
    def __init__(self, sign_status: list[str] | None = None, verify_exit: int = 0, signature: bytes = ARMOR) -> None:
        self.sign_status = sign_status if sign_status is not None else [SIG_CREATED]
        self.verify_exit = verify_exit
        self.signature = signature
        self.calls: list[tuple[str, bytes]] = []

    def sign(self, key: str, payload: bytes) -> ShimSignResult:
        self.calls.append((key, payload))
        return ShimSignResult(self.signature, self.sign_status)

    def verify(self, signature: bytes, payload: bytes, keyid_format: str) -> ShimVerifyResult:
        self.calls.append((keyid_format, payload))
        verdict = "GOODSIG" if self.verify_exit == 0 else "BADSIG"
        return ShimVerifyResult([f"[GNUPG:] {verdict} 89ABCDEF01234567 Alice"], self.verify_exit)


def _run(argv: list[str], backend: object, stdin: bytes = b"") -> tuple[int, bytes, bytes]:
    out, err = io.BytesIO(), io.BytesIO()

    def factory(environ: Mapping[str, str]) -> FakeBackend:
        assert isinstance(backend, FakeBackend)
        return backend

    code = main(argv, factory, environ={}, stdin=io.BytesIO(stdin), stdout=out, stderr=err)  # type: ignore[arg-type]
    return code, out.getvalue(), err.getvalue()


def test_signing_writes_the_signature_to_stdout_and_status_to_the_status_fd() -> None:
    backend = FakeBackend(sign_status=["[GNUPG:] KEY_CONSIDERED x 0", "[GNUPG:] BEGIN_SIGNING H8", SIG_CREATED])
    code, out, err = _run(["--status-fd=2", "-bsau", FPR], backend, commit_payload())
    assert code == 0 and out == ARMOR
    assert err.decode().splitlines()[-1] == SIG_CREATED
    assert backend.calls == [(FPR, commit_payload())]


def test_sig_created_is_never_the_first_status_line() -> None:
    code, _, err = _run(["--status-fd=2", "-bsau", FPR], FakeBackend(sign_status=[SIG_CREATED]), b"x")
    lines = err.decode().splitlines()
    assert code == 0
    assert lines[0].startswith("[GNUPG:] KEY_CONSIDERED ") and lines[1] == SIG_CREATED


def test_goodsig_is_never_the_first_status_line_and_verify_exits_0(tmp_path: Path) -> None:
    signature = tmp_path / "sig"
    signature.write_bytes(ARMOR)
    code, out, err = _run(
        ["--keyid-format=long", "--status-fd=1", "--verify", str(signature), "-"], FakeBackend(), b"data"
    )
    lines = out.decode().splitlines()
    assert code == 0 and lines[0] == "[GNUPG:] NEWSIG" and lines[1].startswith("[GNUPG:] GOODSIG ")
    assert b"Good signature" in err


def test_a_bad_signature_exits_1(tmp_path: Path) -> None:
    signature = tmp_path / "sig"
    signature.write_bytes(ARMOR)
    code, out, _ = _run(["--status-fd=1", "--verify", str(signature), "-"], FakeBackend(verify_exit=1), b"d")
    assert code == 1 and b"BADSIG" in out


def test_a_backend_answer_without_sig_created_is_an_error_and_no_signature_is_printed() -> None:
    code, out, err = _run(["--status-fd=2", "-bsau", FPR], FakeBackend(sign_status=["[GNUPG:] BEGIN_SIGNING"]), b"x")
    assert code == 2 and out == b""
    assert err.startswith(b"agent-auth-gpg: error: ")


def test_garbage_instead_of_an_armored_signature_is_never_given_to_git() -> None:
    code, out, _ = _run(["--status-fd=2", "-bsau", FPR], FakeBackend(signature=b"garbage"), b"x")
    assert code == 2 and out == b""


def test_status_lines_with_control_characters_are_dropped() -> None:
    backend = FakeBackend(sign_status=["[GNUPG:] KEY_CONSIDERED x\x1b[2J 0", "not a status line", SIG_CREATED])
    code, _, err = _run(["--status-fd=2", "-bsau", FPR], backend, b"x")
    assert code == 0 and b"\x1b" not in err and b"not a status line" not in err


def test_a_usage_error_exits_2_with_one_line_on_stderr() -> None:
    code, out, err = _run(["--encrypt"], FakeBackend())
    assert code == 2 and out == b""
    assert err.count(b"\n") == 1 and err.rstrip().endswith(b"[usage]")


def test_help_prints_usage_and_exits_0() -> None:
    code, out, _ = _run(["--help"], FakeBackend())
    assert code == 0 and b"--setup" in out


def test_missing_configuration_is_explained() -> None:
    out, err = io.BytesIO(), io.BytesIO()
    code = main(["-bsau", FPR], environ={}, stdin=io.BytesIO(b"x"), stdout=out, stderr=err)
    assert code == 2 and b"AGENT_AUTH_URL" in err.getvalue() and b"[shim_not_configured]" in err.getvalue()


def test_an_unreachable_daemon_is_bridge_unreachable() -> None:
    out, err = io.BytesIO(), io.BytesIO()
    code = main(
        ["--status-fd=2", "-bsau", FPR],
        environ={"AGENT_AUTH_URL": "http://127.0.0.1:9", "AGENT_AUTH_TOKEN": "t"},
        stdin=io.BytesIO(b"x"),
        stdout=out,
        stderr=err,
    )
    assert code == 2 and err.getvalue().rstrip().endswith(b"[bridge_unreachable]")


def test_the_http_backend_refuses_non_http_urls() -> None:
    with pytest.raises(Exception) as caught:
        HttpBridgeBackend("file:///etc/passwd", lambda: "t")
    assert getattr(caught.value, "code", None) == "shim_not_configured"


def test_bridge_rejections_carry_the_daemons_code() -> None:
    error = BridgeRejectedError("refused", code="key_not_allowed", http_status=403)
    assert (error.code, error.http_status) == ("key_not_allowed", 403)
