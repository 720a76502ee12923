"""The URL-scheme auth token, wrapped so it cannot leak through repr, str, logs or pickles."""

from __future__ import annotations

import hmac
from typing import NoReturn


class AuthToken:
    """A secret string; only ``reveal()`` returns the value, for building an ``update`` URL."""

    __slots__ = ("__value",)

    def __init__(self, value: str) -> None:
        self.__value = value

    def reveal(self) -> str:
        return self.__value

    def matches(self, candidate: str) -> bool:
        return hmac.compare_digest(self.__value.encode(), candidate.encode())

    def __repr__(self) -> str:
        return "AuthToken(<redacted>)"

    __str__ = __repr__

    def __format__(self, format_spec: str) -> str:
        return repr(self)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, AuthToken) and self.matches(other.reveal())

    def __hash__(self) -> int:
        return hash("AuthToken")

    def __reduce__(self) -> NoReturn:
        raise TypeError("AuthToken cannot be pickled")
