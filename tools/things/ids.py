"""Things item ids: what a valid one looks like, and how to mint one.

Things 3 ids are 21-22 characters of ``[0-9A-Za-z]`` (for example the settings row
``RhAzEf6qDxCD5PmnZVtBZR``). Databases migrated from Things 2 can still hold canonical dashed UUIDs,
so that form is accepted too. Anything else is refused before it reaches SQL or a URL.
"""

from __future__ import annotations

import random
import re
import secrets
import string

from tools.things.errors import InvalidArgumentError

_THINGS_ID = re.compile(r"[0-9A-Za-z]{21,22}|[0-9A-Fa-f]{8}(?:-[0-9A-Fa-f]{4}){3}-[0-9A-Fa-f]{12}")
_ALPHABET = string.digits + string.ascii_letters
ID_LENGTH = 22


def is_valid_id(value: object) -> bool:
    """Whether ``value`` is a string shaped like a Things id."""
    return isinstance(value, str) and _THINGS_ID.fullmatch(value) is not None


def require_id(value: object, field: str) -> str:
    """Return ``value`` if it is a Things id, else raise ``InvalidArgumentError`` naming ``field``."""
    if not is_valid_id(value):
        raise InvalidArgumentError(field, "not a Things id (21-22 letters and digits)")
    assert isinstance(value, str)
    return value


def new_id(rng: random.Random | None = None) -> str:
    """Mint a Things-shaped id; deterministic when ``rng`` is given (sample databases)."""
    if rng is None:
        return "".join(secrets.choice(_ALPHABET) for _ in range(ID_LENGTH))
    return "".join(rng.choice(_ALPHABET) for _ in range(ID_LENGTH))
