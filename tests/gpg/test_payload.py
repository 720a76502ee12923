"""The git payload grammar: what git really sends parses, anything else is refused."""

from __future__ import annotations

import pytest
from gpg_support import commit_payload
from hypothesis import given
from hypothesis import strategies as st

from tools.gpg.errors import PayloadAlreadySignedError, PayloadError, PayloadNotGitObjectError
from tools.gpg.payload import (
    CommitSummary,
    PushCertificateSummary,
    TagSummary,
    parse_git_payload,
)

OID = "0123456789abcdef" * 2 + "01234567"
TAG = (
    f"object {OID}\ntype commit\ntag v1.2.3\ntagger Tina Tagger <tina@example.org> 1700000000 -0500\n\nRelease 1.2.3\n"
).encode()
PUSH_CERT = (
    "certificate version 0.1\npusher Pat Pusher <pat@example.org> 1700000000 +0000\n"
    "pushee https://git.example.org/repo.git\nnonce 1700000000-abcdef\n\n"
    f"{'0' * 40} {OID} refs/heads/main\n"
).encode()


def test_a_commit_summary_has_subject_author_committer_tree_and_parent_count() -> None:
    summary = parse_git_payload(commit_payload("Fix the frobnicator", parents=2))
    assert isinstance(summary, CommitSummary)
    assert summary.subject == "Fix the frobnicator"
    assert str(summary.author) == "Alice Example <alice@example.org>"
    assert summary.committer.timestamp == 1700000000
    assert summary.tree == "a" * 40
    assert summary.parent_count == 2


def test_a_root_commit_has_zero_parents() -> None:
    summary = parse_git_payload(commit_payload(parents=0))
    assert isinstance(summary, CommitSummary) and summary.parent_count == 0


def test_a_sha256_commit_parses() -> None:
    payload = commit_payload().replace(b"a" * 40, b"b" * 64)
    summary = parse_git_payload(payload)
    assert isinstance(summary, CommitSummary) and summary.tree == "b" * 64


def test_a_commit_with_an_empty_message_parses() -> None:
    payload = b"tree " + b"a" * 40 + b"\nauthor A <a@x> 1 +0000\ncommitter A <a@x> 1 +0000\n\n"
    summary = parse_git_payload(payload)
    assert isinstance(summary, CommitSummary) and summary.subject == ""


def test_a_tag_summary_has_name_object_and_tagger() -> None:
    summary = parse_git_payload(TAG)
    assert isinstance(summary, TagSummary)
    assert (summary.tag_name, summary.object_id, summary.object_type) == ("v1.2.3", OID, "commit")
    assert summary.tagger is not None and summary.tagger.email == "tina@example.org"
    assert summary.subject == "Release 1.2.3"


def test_a_push_certificate_summary_has_pusher_pushee_and_ref_updates() -> None:
    summary = parse_git_payload(PUSH_CERT)
    assert isinstance(summary, PushCertificateSummary)
    assert summary.pusher.name == "Pat Pusher"
    assert summary.pushee == "https://git.example.org/repo.git"
    assert [update.ref for update in summary.updates] == ["refs/heads/main"]


@pytest.mark.parametrize("header", [b"gpgsig", b"gpgsig-sha256"])
def test_a_commit_that_already_has_a_signature_header_is_refused(header: bytes) -> None:
    payload = commit_payload().replace(
        b"\n\n", b"\n" + header + b" -----BEGIN PGP SIGNATURE-----\n \n AAAA\n -----END PGP SIGNATURE-----\n\n", 1
    )
    with pytest.raises(PayloadAlreadySignedError) as caught:
        parse_git_payload(payload)
    assert caught.value.code == "payload_already_signed"


def test_a_tag_whose_message_embeds_a_signature_block_is_refused() -> None:
    payload = TAG + b"-----BEGIN PGP SIGNATURE-----\n\nAAAA\n-----END PGP SIGNATURE-----\n"
    with pytest.raises(PayloadAlreadySignedError):
        parse_git_payload(payload)


def test_a_merge_commit_carrying_a_signed_mergetag_is_accepted() -> None:
    mergetag = (
        b"mergetag object " + OID.encode() + b"\n type commit\n tag v1\n tagger T <t@x> 1 +0000\n \n msg\n"
        b" -----BEGIN PGP SIGNATURE-----\n \n AAAA\n -----END PGP SIGNATURE-----\n"
    )
    payload = commit_payload(parents=2).replace(b"\n\n", b"\n" + mergetag.rstrip(b"\n") + b"\n\n", 1)
    summary = parse_git_payload(payload)
    assert isinstance(summary, CommitSummary) and summary.parent_count == 2


@pytest.mark.parametrize(
    "payload",
    [
        b"",
        b"hello world\n",
        b"tree abc\n\nmsg",  # short object id
        b"tree " + b"A" * 40 + b"\nauthor A <a@x> 1 +0000\ncommitter A <a@x> 1 +0000\n\nm",  # upper-case
        b"tree " + b"a" * 40 + b"\nauthor A <a@x> 1 +0000\n\nmissing committer",
        b"tree " + b"a" * 40 + b"\nauthor no-email 1 +0000\ncommitter A <a@x> 1 +0000\n\nm",
        b"tree " + b"a" * 40 + b"\nauthor A <a@x> 1 +0000\ncommitter A <a@x> 1 +0000",  # no blank line
        b"tree " + b"a" * 40 + b"\nauthor A <a@x> 1 +0000\ncommitter A <a@x> 1 +0000\ntree " + b"b" * 40 + b"\n\nm",
        b"object " + OID.encode() + b"\ntype commit\ntag bad name\n\nm",
        b"certificate version 0.1\npusher P <p@x> 1 +0000\nnonce n\n\nnot an update\n",
        b"tree " + b"a" * 40 + b"\x00\nauthor A <a@x> 1 +0000\ncommitter A <a@x> 1 +0000\n\nm",
    ],
)
def test_payloads_that_are_not_git_objects_are_refused(payload: bytes) -> None:
    with pytest.raises(PayloadNotGitObjectError) as caught:
        parse_git_payload(payload)
    assert caught.value.code == "payload_not_git_object"


def test_control_characters_in_a_subject_cannot_reach_the_prompt() -> None:
    summary = parse_git_payload(commit_payload("Innocent \x1b[2K\x1b[1Aapproved \u202etxt.exe"))
    assert isinstance(summary, CommitSummary)
    assert "\x1b" not in summary.subject and "\u202e" not in summary.subject
    assert summary.subject == "Innocent \\x1b[2K\\x1b[1Aapproved \\u202etxt.exe"  # shown, not dropped


_ident_text = st.text(
    alphabet=st.characters(blacklist_characters="<>\n\x00", blacklist_categories=("Cs",)), max_size=30
)


@given(
    name=_ident_text.map(str.strip),
    email=st.from_regex(r"\A[a-z0-9.]{1,12}@[a-z]{1,8}\.org\Z"),
    timestamp=st.integers(min_value=0, max_value=2**40),
    parents=st.integers(min_value=0, max_value=5),
    message=st.text(max_size=200).filter(lambda m: "-----BEGIN" not in m and "\x00" not in m),
)
def test_any_commit_git_could_write_parses_to_its_own_fields(
    name: str, email: str, timestamp: int, parents: int, message: str
) -> None:
    lines = ["tree " + "c" * 40, *("parent " + "d" * 40 for _ in range(parents))]
    lines += [f"author {name} <{email}> {timestamp} +0000", f"committer {name} <{email}> {timestamp} -0130"]
    payload = ("\n".join(lines) + "\n\n" + message).encode("utf-8", "surrogatepass")
    summary = parse_git_payload(payload)
    assert isinstance(summary, CommitSummary)
    assert summary.parent_count == parents
    assert summary.author.email == email
    assert summary.committer.timestamp == timestamp
    assert all(ch.isprintable() for ch in summary.subject)


@given(st.binary(max_size=400))
def test_arbitrary_bytes_either_parse_or_raise_a_payload_error(data: bytes) -> None:
    try:
        summary = parse_git_payload(data)
    except PayloadError as exc:
        assert exc.code in {"payload_not_git_object", "payload_already_signed"}
    else:
        assert summary.kind in {"commit", "tag", "push-certificate"}


@given(st.binary(max_size=200))
def test_a_signature_header_anywhere_in_the_headers_is_refused(noise: bytes) -> None:
    noise = noise.replace(b"\n", b" ").replace(b"\x00", b" ")
    payload = commit_payload().replace(b"\n\n", b"\ngpgsig " + noise + b"\n\n", 1)
    with pytest.raises(PayloadAlreadySignedError):
        parse_git_payload(payload)
