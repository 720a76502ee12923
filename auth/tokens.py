"""Token strings: ``aa_<id>_<sig>`` (access) and ``rt_<id>_<sig>`` (refresh).

``id`` is 32 lowercase hex characters; ``sig`` is the lowercase hex HMAC-SHA256 of ``"<prefix>_<id>"`` under
the signing key. Because the prefix is inside the MAC, an access token can never pose as a refresh token or
the reverse. Parsing is strict (exact lengths and alphabet) and verification uses ``hmac.compare_digest``.
The token string itself is never stored: the store keeps only ids.
"""

from __future__ import annotations

import enum
import hmac
import re
import secrets
from dataclasses import dataclass
from hashlib import sha256

from auth.errors import InvalidTokenError

ID_HEX_LENGTH = 32
SIGNATURE_HEX_LENGTH = 64
TOKEN_LENGTH = 3 + ID_HEX_LENGTH + 1 + SIGNATURE_HEX_LENGTH


class TokenKind(enum.Enum):
    ACCESS = "aa"
    REFRESH = "rt"

    @property
    def label(self) -> str:
        return "access" if self is TokenKind.ACCESS else "refresh"


_TOKEN_RE = re.compile(r"\A(aa|rt)_([0-9a-f]{32})_([0-9a-f]{64})\Z")


@dataclass(frozen=True, slots=True)
class ParsedToken:
    kind: TokenKind
    token_id: str
    signature: str

    def __repr__(self) -> str:
        return f"ParsedToken(kind={self.kind.label}, token_id={self.token_id!r}, signature=<redacted>)"


def _sign(kind: TokenKind, token_id: str, signing_key: bytes) -> str:
    return hmac.new(signing_key, f"{kind.value}_{token_id}".encode("ascii"), sha256).hexdigest()


def new_token_id() -> str:
    return secrets.token_hex(ID_HEX_LENGTH // 2)


def mint(kind: TokenKind, signing_key: bytes, token_id: str | None = None) -> tuple[str, str]:
    """Return ``(token_string, token_id)`` for a new token of ``kind``."""
    tid = token_id if token_id is not None else new_token_id()
    if not re.fullmatch(r"[0-9a-f]{32}", tid):
        raise InvalidTokenError("token ids are 32 lowercase hex characters")
    return f"{kind.value}_{tid}_{_sign(kind, tid, signing_key)}", tid


def parse(token: object) -> ParsedToken:
    """Parse a token string strictly; raise :class:`InvalidTokenError` on any deviation, any type included."""
    if not isinstance(token, str) or len(token) != TOKEN_LENGTH:
        raise InvalidTokenError("malformed token", detail="wrong type or length")
    match = _TOKEN_RE.match(token)
    if match is None:
        raise InvalidTokenError("malformed token", detail="bad prefix or alphabet")
    return ParsedToken(TokenKind(match.group(1)), match.group(2), match.group(3))


def verify(token: object, signing_key: bytes, expected_kind: TokenKind) -> ParsedToken:
    """Parse and check the signature and kind; return the parsed token."""
    parsed = parse(token)
    expected = _sign(parsed.kind, parsed.token_id, signing_key)
    if not hmac.compare_digest(expected, parsed.signature):
        raise InvalidTokenError("invalid token", detail="signature mismatch")
    if parsed.kind is not expected_kind:
        raise InvalidTokenError("invalid token", detail=f"wrong kind: {expected_kind.label} token expected")
    return parsed
