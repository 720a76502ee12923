"""AES-256-GCM field encryption bound to (table, column, row id, key id)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from auth.crypto import FieldCipher
from auth.errors import DecryptionError

KEY_1 = bytes(range(32))
KEY_2 = bytes(range(32, 64))
WHERE = {"table": "families", "column": "scopes", "row_id": "a" * 32}


@given(st.binary(max_size=2048), st.text(min_size=1, max_size=40))
def test_encrypted_field_round_trips(plaintext: bytes, row_id: str) -> None:
    cipher = FieldCipher({1: KEY_1}, 1)
    blob = cipher.encrypt(plaintext, table="families", column="scopes", row_id=row_id)
    assert cipher.decrypt(blob, table="families", column="scopes", row_id=row_id) == plaintext


def test_encryption_is_randomised() -> None:
    cipher = FieldCipher({1: KEY_1}, 1)
    assert cipher.encrypt(b"same", **WHERE) != cipher.encrypt(b"same", **WHERE)


def test_a_blob_moved_to_another_row_fails_to_decrypt() -> None:
    cipher = FieldCipher({1: KEY_1}, 1)
    blob_a = cipher.encrypt(b'{"things:read":"allow"}', table="families", column="scopes", row_id="a" * 32)
    blob_b = cipher.encrypt(b'{"gpg:sign":"prompt"}', table="families", column="scopes", row_id="b" * 32)
    with pytest.raises(DecryptionError) as excinfo:
        cipher.decrypt(blob_a, table="families", column="scopes", row_id="b" * 32)
    assert excinfo.value.code == "decryption_failed"
    with pytest.raises(DecryptionError):
        cipher.decrypt(blob_b, table="families", column="scopes", row_id="a" * 32)


def test_a_blob_moved_to_another_column_or_table_fails_to_decrypt() -> None:
    cipher = FieldCipher({1: KEY_1}, 1)
    blob = cipher.encrypt(b"secret", **WHERE)
    with pytest.raises(DecryptionError):
        cipher.decrypt(blob, table="families", column="label", row_id=WHERE["row_id"])
    with pytest.raises(DecryptionError):
        cipher.decrypt(blob, table="tokens", column="scopes", row_id=WHERE["row_id"])


def test_every_tampered_byte_is_detected() -> None:
    cipher = FieldCipher({1: KEY_1}, 1)
    blob = cipher.encrypt(b"things:read", **WHERE)
    for index in range(len(blob)):
        tampered = blob[:index] + bytes([blob[index] ^ 0x01]) + blob[index + 1 :]
        with pytest.raises(DecryptionError):
            cipher.decrypt(tampered, **WHERE)


def test_truncated_or_extended_blobs_are_detected() -> None:
    cipher = FieldCipher({1: KEY_1}, 1)
    blob = cipher.encrypt(b"things:read", **WHERE)
    for end in range(len(blob)):
        with pytest.raises(DecryptionError):
            cipher.decrypt(blob[:end], **WHERE)
    with pytest.raises(DecryptionError):
        cipher.decrypt(blob + b"\x00", **WHERE)


def test_a_blob_under_an_unknown_key_id_is_refused() -> None:
    blob = FieldCipher({2: KEY_2}, 2).encrypt(b"x", **WHERE)
    with pytest.raises(DecryptionError) as excinfo:
        FieldCipher({1: KEY_1}, 1).decrypt(blob, **WHERE)
    assert excinfo.value.code == "decryption_failed"


def test_a_different_key_under_the_same_key_id_is_detected() -> None:
    blob = FieldCipher({1: KEY_1}, 1).encrypt(b"x", **WHERE)
    with pytest.raises(DecryptionError):
        FieldCipher({1: KEY_2}, 1).decrypt(blob, **WHERE)


def test_old_blobs_stay_readable_after_the_encryption_key_is_rotated() -> None:
    old_blob = FieldCipher({1: KEY_1}, 1).encrypt(b"before", **WHERE)
    rotated = FieldCipher({1: KEY_1, 2: KEY_2}, 2)
    new_blob = rotated.encrypt(b"after", **WHERE)
    assert rotated.decrypt(old_blob, **WHERE) == b"before"
    assert rotated.decrypt(new_blob, **WHERE) == b"after"
    with pytest.raises(DecryptionError):
        FieldCipher({1: KEY_1}, 1).decrypt(new_blob, **WHERE)


def test_cipher_refuses_bad_keys_and_hides_them_in_repr() -> None:
    with pytest.raises(ValueError):
        FieldCipher({1: b"short"}, 1)
    with pytest.raises(ValueError):
        FieldCipher({1: KEY_1}, 2)
    assert KEY_1.hex() not in repr(FieldCipher({1: KEY_1}, 1))


def _detail(cipher: FieldCipher, blob: bytes) -> str | None:
    with pytest.raises(DecryptionError) as excinfo:
        cipher.decrypt(blob, **WHERE)
    return excinfo.value.detail


def test_each_decryption_failure_names_the_field_it_could_not_read() -> None:
    """The detail (logged, never the plaintext or key) says which row and column to look at."""
    where = f"families.scopes row {'a' * 32}"
    cipher = FieldCipher({1: KEY_1}, 1)
    blob = cipher.encrypt(b"x", **WHERE)
    assert _detail(cipher, blob[:10]) == where
    assert _detail(FieldCipher({2: KEY_2}, 2), blob) == f"{where}: version 1, key id 1"
    assert _detail(FieldCipher({1: KEY_2}, 1), blob) == where
