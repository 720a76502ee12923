"""The exception hierarchy of the Things package.

Every error carries a stable snake_case ``code`` that callers (the MCP layer, the REST bridge) map to
their wire format; messages say how to fix the problem. No error ever carries the URL-scheme auth
token or a URL that contains it.
"""

from __future__ import annotations

from typing import ClassVar


class ThingsError(Exception):
    """Base class: something went wrong talking to Things."""

    code: ClassVar[str] = "things_error"


class DatabaseError(ThingsError):
    """The Things database could not be used."""

    code: ClassVar[str] = "database_error"


class DatabaseNotFoundError(DatabaseError):
    """No Things database exists where we looked."""

    code: ClassVar[str] = "database_not_found"


class DatabaseUnreadableError(DatabaseError):
    """The database exists but SQLite cannot open or read it."""

    code: ClassVar[str] = "database_unreadable"


class DatabaseAccessDeniedError(DatabaseUnreadableError):
    """macOS privacy protection (TCC) refused access: the program running agent-auth needs Full Disk Access."""

    code: ClassVar[str] = "database_access_denied"


class DatabaseLockedError(DatabaseError):
    """Another connection (Things itself, a backup, a sync) held a lock for longer than the busy timeout."""

    code: ClassVar[str] = "database_locked"


class UnsupportedSchemaError(DatabaseError):
    """The database is not a Things 3 database we understand."""

    code: ClassVar[str] = "unsupported_schema"


class NotFoundError(ThingsError):
    """A referenced to-do, project, area, heading or tag does not exist (or is hidden)."""

    code: ClassVar[str] = "not_found"

    def __init__(self, kind: str, item_id: str) -> None:
        super().__init__(f"No {kind} with id {item_id!r} exists in Things (it may be in the Trash).")
        self.kind = kind
        self.item_id = item_id


class InvalidArgumentError(ThingsError):
    """A caller-supplied argument is malformed; ``field`` names the argument."""

    code: ClassVar[str] = "invalid_argument"

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field


class RateLimitedError(ThingsError):
    """Things accepts at most 250 items per 10 seconds through its URL scheme."""

    code: ClassVar[str] = "rate_limited"

    def __init__(self, retry_after_seconds: float) -> None:
        super().__init__(
            f"Things' URL scheme accepts at most 250 items per 10 seconds; retry in {retry_after_seconds:.1f} s."
        )
        self.retry_after_seconds = retry_after_seconds


class WriteUnavailableError(ThingsError):
    """Writes cannot be made: no URL opener, no auth token, or the opener failed."""

    code: ClassVar[str] = "write_unavailable"
