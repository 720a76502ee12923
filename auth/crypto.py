"""Field encryption: AES-256-GCM with the associated data bound to (table, column, row id, key id).

A blob is ``version(1) | key_id(4, big-endian) | nonce(12) | ciphertext+tag``. Because the row id is in
the associated data, a blob copied to another row (or column) fails to decrypt. The key id lets old blobs
be read after the encryption key is rotated.
"""

from __future__ import annotations

import os
import struct
from collections.abc import Mapping

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from auth.errors import DecryptionError

_VERSION = 1
_HEADER = struct.Struct(">BI")
_NONCE_BYTES = 12


class FieldCipher:
    """Encrypts and decrypts one column value at a time."""

    def __init__(self, keys: Mapping[int, bytes], current_key_id: int) -> None:
        if current_key_id not in keys:
            raise ValueError("current_key_id must be one of keys")
        for key in keys.values():
            if len(key) != 32:
                raise ValueError("AES-256-GCM keys are 32 bytes")
        self._aeads = {key_id: AESGCM(key) for key_id, key in keys.items()}
        self.current_key_id = current_key_id

    def __repr__(self) -> str:
        return f"FieldCipher(key_ids={sorted(self._aeads)}, current={self.current_key_id})"

    @staticmethod
    def _aad(table: str, column: str, row_id: str, key_id: int) -> bytes:
        return f"agent-auth|v{_VERSION}|{table}|{column}|{row_id}|k{key_id}".encode()

    def encrypt(self, plaintext: bytes, *, table: str, column: str, row_id: str) -> bytes:
        key_id = self.current_key_id
        nonce = os.urandom(_NONCE_BYTES)
        sealed = self._aeads[key_id].encrypt(nonce, plaintext, self._aad(table, column, row_id, key_id))
        return _HEADER.pack(_VERSION, key_id) + nonce + sealed

    def decrypt(self, blob: bytes, *, table: str, column: str, row_id: str) -> bytes:
        if len(blob) < _HEADER.size + _NONCE_BYTES + 16:
            raise DecryptionError("encrypted field is truncated", detail=f"{table}.{column} row {row_id}")
        version, key_id = _HEADER.unpack_from(blob)
        aead = self._aeads.get(key_id)
        if version != _VERSION or aead is None:
            raise DecryptionError(
                "encrypted field uses an unknown key or format; the encryption key may have been replaced",
                detail=f"{table}.{column} row {row_id}: version {version}, key id {key_id}",
            )
        nonce = blob[_HEADER.size : _HEADER.size + _NONCE_BYTES]
        try:
            return aead.decrypt(nonce, blob[_HEADER.size + _NONCE_BYTES :], self._aad(table, column, row_id, key_id))
        except InvalidTag:
            raise DecryptionError(
                "encrypted field failed authentication (tampered, moved between rows, or a different key)",
                detail=f"{table}.{column} row {row_id}",
            ) from None
