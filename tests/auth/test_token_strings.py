"""Token strings: format, known-answer vectors, strict parsing and signature checks."""

from __future__ import annotations

import hashlib
import hmac
import string

import pytest
from hypothesis import given
from hypothesis import strategies as st

from auth import tokens
from auth.errors import InvalidTokenError
from auth.tokens import TokenKind

VECTOR_KEY = bytes(range(32))
VECTOR_ID = "0123456789abcdef0123456789abcdef"
# Computed once with an independent HMAC-SHA256 implementation; pinned so a format change is noticed.
VECTOR_ACCESS_SIG = "fcd8baa919c1ea7cbb6c48885509a8fc1c89ed4e533f01c6773565cc3272be89"
VECTOR_REFRESH_SIG = "526795886cebd8b8880085012f183f542bef7de7fa1356ce2ec4e9c1df01c4f2"

token_ids = st.text(alphabet="0123456789abcdef", min_size=32, max_size=32)
signing_keys = st.binary(min_size=1, max_size=64)
kinds = st.sampled_from(list(TokenKind))


def _other(kind: TokenKind) -> TokenKind:
    return TokenKind.REFRESH if kind is TokenKind.ACCESS else TokenKind.ACCESS


def _expected_sig(key: bytes, prefix: str, token_id: str) -> str:
    return hmac.new(key, f"{prefix}_{token_id}".encode("ascii"), hashlib.sha256).hexdigest()


@pytest.mark.parametrize(
    ("kind", "prefix", "pinned_sig"),
    [(TokenKind.ACCESS, "aa", VECTOR_ACCESS_SIG), (TokenKind.REFRESH, "rt", VECTOR_REFRESH_SIG)],
)
def test_minted_token_matches_the_known_answer_vector(kind: TokenKind, prefix: str, pinned_sig: str) -> None:
    """The signature is hex HMAC-SHA256 over "<prefix>_<id>" under the signing key."""
    token, token_id = tokens.mint(kind, VECTOR_KEY, VECTOR_ID)
    assert token_id == VECTOR_ID
    assert _expected_sig(VECTOR_KEY, prefix, VECTOR_ID) == pinned_sig
    assert token == f"{prefix}_{VECTOR_ID}_{pinned_sig}"
    assert len(token) == tokens.TOKEN_LENGTH


@given(kind=kinds, key=signing_keys, token_id=token_ids)
def test_minted_token_round_trips_through_parse_and_verify(kind: TokenKind, key: bytes, token_id: str) -> None:
    token, returned_id = tokens.mint(kind, key, token_id)
    assert returned_id == token_id
    assert token == f"{kind.value}_{token_id}_{_expected_sig(key, kind.value, token_id)}"
    parsed = tokens.parse(token)
    assert (parsed.kind, parsed.token_id) == (kind, token_id)
    assert tokens.verify(token, key, kind) == parsed


@given(kind=kinds, key=signing_keys)
def test_fresh_token_ids_are_32_lowercase_hex_and_verify(kind: TokenKind, key: bytes) -> None:
    token, token_id = tokens.mint(kind, key)
    assert len(token_id) == 32
    assert set(token_id) <= set("0123456789abcdef")
    assert tokens.verify(token, key, kind).token_id == token_id


@given(kind=kinds, key=signing_keys, token_id=token_ids)
def test_token_presented_as_the_other_type_is_rejected(kind: TokenKind, key: bytes, token_id: str) -> None:
    token, _ = tokens.mint(kind, key, token_id)
    with pytest.raises(InvalidTokenError) as excinfo:
        tokens.verify(token, key, _other(kind))
    assert excinfo.value.code == "invalid_token"


@given(kind=kinds, key=signing_keys, token_id=token_ids)
def test_re_prefixed_token_cannot_pose_as_the_other_type(kind: TokenKind, key: bytes, token_id: str) -> None:
    """Swapping "aa_" and "rt_" keeps the id and signature but the prefix is inside the MAC."""
    token, _ = tokens.mint(kind, key, token_id)
    other = _other(kind)
    re_prefixed = other.value + token[2:]
    for expected in TokenKind:
        with pytest.raises(InvalidTokenError):
            tokens.verify(re_prefixed, key, expected)


@given(kind=kinds, key=signing_keys, token_id=token_ids)
def test_signature_of_the_other_type_grafted_onto_an_id_is_rejected(kind: TokenKind, key: bytes, token_id: str) -> None:
    """A real signature for the same id under the other prefix does not verify under this prefix."""
    other_token, _ = tokens.mint(_other(kind), key, token_id)
    grafted = f"{kind.value}_{token_id}_{other_token.rsplit('_', 1)[1]}"
    with pytest.raises(InvalidTokenError):
        tokens.verify(grafted, key, kind)


@given(kind=kinds, key=signing_keys, other_key=signing_keys, token_id=token_ids)
def test_token_signed_with_another_key_is_rejected(
    kind: TokenKind, key: bytes, other_key: bytes, token_id: str
) -> None:
    token, _ = tokens.mint(kind, key, token_id)
    if hmac.new(key, b"x", hashlib.sha256).digest() == hmac.new(other_key, b"x", hashlib.sha256).digest():
        return  # the same HMAC key (HMAC pads short keys with zeros)
    with pytest.raises(InvalidTokenError):
        tokens.verify(token, other_key, kind)


@pytest.mark.parametrize("kind", list(TokenKind))
def test_every_truncation_of_a_valid_token_is_rejected(kind: TokenKind) -> None:
    token, _ = tokens.mint(kind, VECTOR_KEY, VECTOR_ID)
    for end in range(len(token)):
        for piece in (token[:end], token[len(token) - end :]):
            with pytest.raises(InvalidTokenError):
                tokens.verify(piece, VECTOR_KEY, kind)


@pytest.mark.parametrize("kind", list(TokenKind))
def test_every_single_character_modification_of_a_valid_token_is_rejected(kind: TokenKind) -> None:
    token, _ = tokens.mint(kind, VECTOR_KEY, VECTOR_ID)
    replacements = string.hexdigits + "_-xzAZ \n\x00é"
    for position in range(len(token)):
        for char in replacements:
            if char == token[position]:
                continue
            modified = token[:position] + char + token[position + 1 :]
            with pytest.raises(InvalidTokenError):
                tokens.verify(modified, VECTOR_KEY, kind)


@pytest.mark.parametrize("kind", list(TokenKind))
def test_extended_tokens_are_rejected(kind: TokenKind) -> None:
    token, _ = tokens.mint(kind, VECTOR_KEY, VECTOR_ID)
    for extra in ["0", "a", "_", " ", "\n", "\r\n", "\x00", token]:
        for extended in (token + extra, extra + token):
            with pytest.raises(InvalidTokenError):
                tokens.verify(extended, VECTOR_KEY, kind)


@pytest.mark.parametrize("kind", list(TokenKind))
def test_case_changes_of_a_valid_token_are_rejected(kind: TokenKind) -> None:
    token, _ = tokens.mint(kind, VECTOR_KEY, VECTOR_ID)
    variants = {token.upper(), token.title(), token.swapcase()}
    variants |= {token[:i] + token[i].upper() + token[i + 1 :] for i, c in enumerate(token) if c.islower()}
    variants.discard(token)
    assert variants
    for variant in variants:
        with pytest.raises(InvalidTokenError):
            tokens.verify(variant, VECTOR_KEY, kind)


@given(garbage=st.text(max_size=120) | st.binary(max_size=120))
def test_arbitrary_input_never_parses_unless_it_has_the_exact_shape(garbage: str | bytes) -> None:
    try:
        parsed = tokens.parse(garbage)
    except InvalidTokenError as exc:
        assert exc.code == "invalid_token"
        return
    assert isinstance(garbage, str)
    assert garbage == f"{parsed.kind.value}_{parsed.token_id}_{parsed.signature}"


def test_mint_refuses_a_malformed_token_id() -> None:
    for bad in ["", "0" * 31, "0" * 33, "G" * 32, "A" * 32, "0" * 31 + "\n"]:
        with pytest.raises(InvalidTokenError):
            tokens.mint(TokenKind.ACCESS, VECTOR_KEY, bad)


def test_parsed_token_repr_redacts_the_signature() -> None:
    token, _ = tokens.mint(TokenKind.ACCESS, VECTOR_KEY, VECTOR_ID)
    assert VECTOR_ACCESS_SIG not in repr(tokens.parse(token))


@pytest.mark.parametrize(
    "value",
    [None, 12, 12.5, b"a" * tokens.TOKEN_LENGTH, bytearray(tokens.TOKEN_LENGTH), ["aa"] * tokens.TOKEN_LENGTH],
    ids=["none", "int", "float", "bytes-of-token-length", "bytearray-of-token-length", "list-of-token-length"],
)
def test_a_value_that_is_not_a_string_is_an_invalid_token_not_a_type_error(value: object) -> None:
    """Whatever a client sends (JSON null, a number, raw bytes) is refused as ``invalid_token``."""
    with pytest.raises(InvalidTokenError) as excinfo:
        tokens.parse(value)
    assert excinfo.value.code == "invalid_token"
    with pytest.raises(InvalidTokenError):
        tokens.verify(value, VECTOR_KEY, TokenKind.ACCESS)


def test_the_bytes_of_a_valid_token_are_refused() -> None:
    token, _ = tokens.mint(TokenKind.ACCESS, VECTOR_KEY, VECTOR_ID)
    with pytest.raises(InvalidTokenError):
        tokens.parse(token.encode("ascii"))


def _detail(token: object, kind: TokenKind = TokenKind.ACCESS) -> str | None:
    with pytest.raises(InvalidTokenError) as excinfo:
        tokens.verify(token, VECTOR_KEY, kind)
    return excinfo.value.detail


def test_each_refusal_carries_the_reason_the_audit_record_shows() -> None:
    """The wire says only ``invalid_token``; the detail (recorded as the decision's reason) says why."""
    access, _ = tokens.mint(TokenKind.ACCESS, VECTOR_KEY, VECTOR_ID)
    assert _detail(None) == "wrong type or length"
    assert _detail(access[:-1]) == "wrong type or length"
    assert _detail(access.upper()) == "bad prefix or alphabet"
    assert _detail(access[:-1] + ("0" if access[-1] != "0" else "1")) == "signature mismatch"
    assert _detail(access, TokenKind.REFRESH) == "wrong kind: refresh token expected"
    refresh, _ = tokens.mint(TokenKind.REFRESH, VECTOR_KEY, VECTOR_ID)
    assert _detail(refresh) == "wrong kind: access token expected"
