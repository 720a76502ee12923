"""GpgService against a real gpg and a throwaway GNUPGHOME."""

from __future__ import annotations

import pytest
from gpg_support import GpgHome, commit_payload

from tools.gpg.errors import (
    GpgError,
    InvalidKeySpecError,
    KeyNotAllowedError,
    NoSuchKeyError,
    PassphraseRequiredError,
    PayloadAlreadySignedError,
    PayloadNotGitObjectError,
    PayloadTooLargeError,
    ShortKeyIdError,
)
from tools.gpg.passphrase import StaticPassphrases
from tools.gpg.policy import GpgPolicy
from tools.gpg.runner import Notation
from tools.gpg.service import GpgService


def test_a_passphrase_less_key_signs_and_the_signature_verifies(service: GpgService, gpg_home: GpgHome) -> None:
    payload = commit_payload()
    result = service.sign(gpg_home.alice, payload)
    assert result.signature.startswith(b"-----BEGIN PGP SIGNATURE-----")
    assert result.fingerprint == gpg_home.alice
    assert any(line.startswith("[GNUPG:] SIG_CREATED ") for line in result.status_lines)
    verified = service.verify(result.signature, payload)
    assert verified.valid and verified.verdict == "GOODSIG"
    assert verified.fingerprint == gpg_home.alice


def test_a_passphrase_protected_key_signs_with_the_passphrase_from_the_source(
    service: GpgService, gpg_home: GpgHome
) -> None:
    payload = commit_payload("Signed by Bob")
    result = service.sign(gpg_home.bob, payload)
    assert result.fingerprint == gpg_home.bob
    assert service.verify(result.signature, payload).valid


def test_a_passphrase_protected_key_without_a_stored_passphrase_fails_fast(gpg_home: GpgHome) -> None:
    service = GpgService(gpg_home.runner(), GpgPolicy([gpg_home.bob]), StaticPassphrases({}))
    with pytest.raises(PassphraseRequiredError) as caught:
        service.sign(gpg_home.bob, commit_payload("no passphrase"))
    assert caught.value.code == "passphrase_required"


def test_a_wrong_stored_passphrase_is_reported_as_bad_passphrase(gpg_home: GpgHome) -> None:
    service = GpgService(gpg_home.runner(), GpgPolicy([gpg_home.bob]), StaticPassphrases({gpg_home.bob: b"nope"}))
    with pytest.raises(GpgError) as caught:
        service.sign(gpg_home.bob, commit_payload("wrong passphrase"))
    assert caught.value.code == "bad_passphrase"


def test_the_sign_result_carries_the_payload_sha256_and_a_summary_naming_the_key(
    service: GpgService, gpg_home: GpgHome
) -> None:
    import hashlib

    payload = commit_payload("Summarise me")
    result = service.sign(gpg_home.alice, payload)
    assert result.payload_sha256 == hashlib.sha256(payload).hexdigest()
    assert result.summary.startswith('sign commit "Summarise me"')
    assert gpg_home.alice in result.summary and "Alice Example <alice@example.org>" in result.summary


def test_a_user_id_that_exactly_matches_an_allowed_key_resolves_to_its_fingerprint(
    service: GpgService, gpg_home: GpgHome
) -> None:
    result = service.sign("Alice Example <alice@example.org>", commit_payload())
    assert result.fingerprint == gpg_home.alice


def test_a_long_key_id_of_an_allowed_key_resolves_to_its_fingerprint(service: GpgService, gpg_home: GpgHome) -> None:
    result = service.sign(gpg_home.alice[-16:].lower(), commit_payload())
    assert result.fingerprint == gpg_home.alice


def test_an_email_alone_does_not_resolve(service: GpgService) -> None:
    with pytest.raises(KeyNotAllowedError):
        service.sign("alice@example.org", commit_payload())


def test_a_key_in_the_keyring_but_not_on_the_allowlist_is_refused(service: GpgService, gpg_home: GpgHome) -> None:
    with pytest.raises(KeyNotAllowedError) as caught:
        service.sign(gpg_home.mallory, commit_payload())
    assert caught.value.code == "key_not_allowed"


def test_the_user_id_of_a_key_not_on_the_allowlist_is_refused(service: GpgService) -> None:
    with pytest.raises(KeyNotAllowedError):
        service.sign("Mallory Example <mallory@example.org>", commit_payload())


def test_an_allowed_key_missing_from_the_keyring_is_no_such_key(gpg_home: GpgHome) -> None:
    unknown = "0123456789ABCDEF0123456789ABCDEF01234567"
    service = GpgService(gpg_home.runner(), GpgPolicy([gpg_home.alice, unknown]))
    with pytest.raises(NoSuchKeyError) as caught:
        service.sign(unknown, commit_payload())
    assert caught.value.code == "no_such_key"


@pytest.mark.parametrize("spec_len", [8, 24])
def test_short_key_ids_and_fingerprint_suffixes_are_refused(
    service: GpgService, gpg_home: GpgHome, spec_len: int
) -> None:
    with pytest.raises(ShortKeyIdError) as caught:
        service.sign(gpg_home.alice[-spec_len:], commit_payload())
    assert caught.value.code == "short_key_id"


@pytest.mark.parametrize("spec", ["--homedir=/tmp", "-u", "Alice\nExample", "Alice\x00", "A" * 300, "", "   "])
def test_key_names_that_could_inject_are_refused_before_gpg_runs(spec: str) -> None:
    class ExplodingRunner:
        def list_secret_keys(self) -> list[object]:
            raise AssertionError("gpg must not run")

    service = GpgService(ExplodingRunner(), GpgPolicy([]))  # type: ignore[arg-type]
    with pytest.raises(InvalidKeySpecError):
        service.sign(spec, commit_payload())


def test_a_payload_that_is_not_a_git_object_is_refused(service: GpgService, gpg_home: GpgHome) -> None:
    with pytest.raises(PayloadNotGitObjectError):
        service.sign(gpg_home.alice, b"please sign this contract\n")


def test_an_oversized_payload_is_refused(service: GpgService, gpg_home: GpgHome) -> None:
    with pytest.raises(PayloadTooLargeError) as caught:
        service.sign(gpg_home.alice, commit_payload("x" * (64 * 1024)))
    assert caught.value.code == "payload_too_large"


def test_a_payload_with_a_gpgsig_header_is_refused(service: GpgService, gpg_home: GpgHome) -> None:
    signed = commit_payload().replace(b"\n\n", b"\ngpgsig -----BEGIN PGP SIGNATURE-----\n AAAA\n\n", 1)
    with pytest.raises(PayloadAlreadySignedError):
        service.sign(gpg_home.alice, signed)


def test_raw_payloads_can_be_signed_when_the_policy_does_not_require_git(gpg_home: GpgHome) -> None:
    service = GpgService(gpg_home.runner(), GpgPolicy([gpg_home.alice], require_git_payload=False))
    result = service.sign(gpg_home.alice, b"arbitrary bytes\n")
    assert "16-byte payload sha256:" in result.summary
    assert service.verify(result.signature, b"arbitrary bytes\n").valid


def test_a_tampered_payload_does_not_verify(service: GpgService, gpg_home: GpgHome) -> None:
    result = service.sign(gpg_home.alice, commit_payload("original"))
    verified = service.verify(result.signature, commit_payload("tampered"))
    assert not verified.valid
    assert verified.verdict == "BADSIG" and verified.exit_code == 1


def test_a_tampered_signature_does_not_verify(service: GpgService, gpg_home: GpgHome) -> None:
    payload = commit_payload()
    armored = service.sign(gpg_home.alice, payload).signature.decode()
    lines = armored.splitlines()
    body_index = next(i for i, line in enumerate(lines) if line == "") + 1
    flipped = lines[body_index]
    lines[body_index] = flipped[:10] + ("A" if flipped[10] != "A" else "B") + flipped[11:]
    verified = service.verify(("\n".join(lines) + "\n").encode(), payload)
    assert not verified.valid
    assert verified.exit_code != 0


def test_garbage_instead_of_a_signature_does_not_verify(service: GpgService) -> None:
    verified = service.verify(b"not a signature", commit_payload())
    assert not verified.valid and verified.verdict is None and verified.exit_code == 2


def test_list_keys_returns_only_allowed_keys_with_uids_algorithm_and_capabilities(
    service: GpgService, gpg_home: GpgHome
) -> None:
    keys = {key.fingerprint: key for key in service.list_keys()}
    assert set(keys) == {gpg_home.alice, gpg_home.bob}
    alice = keys[gpg_home.alice]
    assert alice.user_ids == ("Alice Example <alice@example.org>",)
    assert alice.algorithm == "ed25519"
    assert alice.can_sign and alice.has_secret


def test_a_notation_is_embedded_in_the_signature(service: GpgService, gpg_home: GpgHome) -> None:
    import subprocess

    payload = commit_payload()
    result = service.sign(gpg_home.alice, payload, notations=[Notation("agent-auth@example.org", "approval-42")])
    packets = subprocess.run(
        ["gpg", "--homedir", str(gpg_home.path), "--batch", "--list-packets"],
        input=result.signature,
        capture_output=True,
        check=False,
    ).stdout
    assert b"agent-auth@example.org" in packets and b"approval-42" in packets


@pytest.mark.parametrize(
    ("name", "value"), [("no-at-sign", "v"), ("a@b", "line\nbreak"), ("!crit@x.org", "v"), ("a@b", "")]
)
def test_malformed_notations_are_refused(name: str, value: str) -> None:
    with pytest.raises(GpgError) as caught:
        Notation(name, value)
    assert caught.value.code == "invalid_notation"


def test_prepare_sign_checks_without_signing_and_sign_plan_signs_it(service: GpgService, gpg_home: GpgHome) -> None:
    plan = service.prepare_sign("Alice Example <alice@example.org>", commit_payload("Plan first"))
    assert plan.fingerprint == gpg_home.alice and "Plan first" in plan.summary
    result = service.sign_plan(plan)
    assert result.fingerprint == gpg_home.alice and result.summary == plan.summary
