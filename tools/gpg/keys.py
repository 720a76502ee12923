"""Secret keys as listed by ``gpg --with-colons --list-secret-keys`` and their parsing.

A :class:`GpgKey` is one primary key with its user ids and subkeys. Record layout: GnuPG
``doc/DETAILS`` ("Format of the colon listings"); fields are 1-based there, 0-based here.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["GpgKey", "Subkey", "algorithm_name", "parse_colon_listing"]

# RFC 4880 / RFC 9580 public-key algorithm ids (the ones gpg 2.2 lists).
_ALGORITHMS = {
    1: "rsa",
    2: "rsa-encrypt-only",
    3: "rsa-sign-only",
    16: "elgamal",
    17: "dsa",
    18: "ecdh",
    19: "ecdsa",
    22: "eddsa",
}


def algorithm_name(algorithm_id: int, curve: str = "") -> str:
    """A readable algorithm name (``ed25519`` for EdDSA on that curve, ``rsa`` ...)."""
    if algorithm_id == 22 and curve:
        return curve
    return _ALGORITHMS.get(algorithm_id, f"algo-{algorithm_id}")


@dataclass(frozen=True)
class Subkey:
    fingerprint: str
    key_id: str
    algorithm: str
    capabilities: str
    has_secret: bool


@dataclass(frozen=True)
class GpgKey:
    """A primary key. ``capabilities`` is gpg's field 12 (lower case: this key; upper: usable key)."""

    fingerprint: str
    key_id: str
    algorithm: str
    length_bits: int
    capabilities: str
    user_ids: tuple[str, ...]
    subkeys: tuple[Subkey, ...]
    created_timestamp: int
    expires_timestamp: int | None
    has_secret: bool

    @property
    def can_sign(self) -> bool:
        return "s" in self.capabilities

    @property
    def primary_user_id(self) -> str:
        return self.user_ids[0] if self.user_ids else ""


def _unescape(field: str) -> str:
    r"""Undo gpg's C-style ``\xHH`` escaping of colon-listing fields."""
    if "\\x" not in field:
        return field
    out = bytearray()
    i = 0
    raw = field.encode("utf-8", "surrogateescape")
    while i < len(raw):
        if raw[i : i + 2] == b"\\x" and i + 4 <= len(raw):
            try:
                out.append(int(raw[i + 2 : i + 4], 16))
                i += 4
                continue
            except ValueError:
                pass
        out.append(raw[i])
        i += 1
    return out.decode("utf-8", "replace")


def _int(field: str) -> int:
    return int(field) if field.isdigit() else 0


@dataclass
class _Building:
    record: list[str]
    fingerprint: str = ""
    user_ids: list[str] | None = None
    subkeys: list[Subkey] | None = None
    pending_subkey: list[str] | None = None


def _secret_flag(record: list[str]) -> bool:
    # Field 15 is the S/N token; "#" means the secret part is missing (a stub), ">" on a card.
    return record[0] in ("sec", "ssb") and (len(record) < 15 or record[14] != "#")


def parse_colon_listing(text: str) -> list[GpgKey]:
    """Parse ``--with-colons --fixed-list-mode --with-fingerprint --with-fingerprint`` output."""
    keys: list[GpgKey] = []
    current: _Building | None = None

    def flush_subkey(building: _Building, fingerprint: str) -> None:
        record = building.pending_subkey
        if record is None:
            return
        assert building.subkeys is not None
        curve = record[16] if len(record) > 16 else ""
        building.subkeys.append(
            Subkey(
                fingerprint=fingerprint,
                key_id=record[4].upper(),
                algorithm=algorithm_name(_int(record[3]), curve),
                capabilities=record[11] if len(record) > 11 else "",
                has_secret=_secret_flag(record),
            )
        )
        building.pending_subkey = None

    def finish(building: _Building | None) -> None:
        if building is None or not building.fingerprint:
            return
        record = building.record
        curve = record[16] if len(record) > 16 else ""
        expires = _int(record[6]) if len(record) > 6 else 0
        keys.append(
            GpgKey(
                fingerprint=building.fingerprint,
                key_id=record[4].upper(),
                algorithm=algorithm_name(_int(record[3]), curve),
                length_bits=_int(record[2]),
                capabilities=record[11] if len(record) > 11 else "",
                user_ids=tuple(building.user_ids or ()),
                subkeys=tuple(building.subkeys or ()),
                created_timestamp=_int(record[5]),
                expires_timestamp=expires or None,
                has_secret=_secret_flag(record),
            )
        )

    for line in text.splitlines():
        record = line.split(":")
        kind = record[0]
        if kind in ("sec", "pub"):
            finish(current)
            current = _Building(record=record, user_ids=[], subkeys=[])
        elif current is None:
            continue
        elif kind in ("ssb", "sub"):
            current.pending_subkey = record
        elif kind == "fpr" and len(record) > 9:
            fingerprint = record[9].upper()
            if current.pending_subkey is not None:
                flush_subkey(current, fingerprint)
            elif not current.fingerprint:
                current.fingerprint = fingerprint
        elif kind == "uid" and len(record) > 9:
            assert current.user_ids is not None
            current.user_ids.append(_unescape(record[9]))
    finish(current)
    return keys
