"""The Things 3 domain: read the database, write through the URL scheme, nothing about authorization.

The MCP layer builds one ``ThingsService`` and wraps its methods 1:1 as tools; the REST bridge
handlers live in ``tools.things.bridge``.
"""

from tools.things.database import ThingsDatabase, discover_database_path
from tools.things.double import SampleDatabaseThingsApp
from tools.things.errors import (
    DatabaseAccessDeniedError,
    DatabaseError,
    DatabaseLockedError,
    DatabaseNotFoundError,
    DatabaseUnreadableError,
    InvalidArgumentError,
    NotFoundError,
    RateLimitedError,
    ThingsError,
    UnsupportedSchemaError,
    WriteUnavailableError,
)
from tools.things.models import Area, ChecklistItem, Page, Project, Ref, Tag, Todo, WriteResult
from tools.things.openers import MacUrlOpener, UrlOpener
from tools.things.ratelimit import ItemRateLimiter
from tools.things.secret import AuthToken
from tools.things.service import ThingsService
from tools.things.writes import ThingsWriter

__all__ = [
    "Area",
    "AuthToken",
    "ChecklistItem",
    "DatabaseAccessDeniedError",
    "DatabaseError",
    "DatabaseLockedError",
    "DatabaseNotFoundError",
    "DatabaseUnreadableError",
    "InvalidArgumentError",
    "ItemRateLimiter",
    "MacUrlOpener",
    "NotFoundError",
    "Page",
    "Project",
    "RateLimitedError",
    "Ref",
    "SampleDatabaseThingsApp",
    "Tag",
    "ThingsDatabase",
    "ThingsError",
    "ThingsService",
    "ThingsWriter",
    "Todo",
    "UnsupportedSchemaError",
    "UrlOpener",
    "WriteResult",
    "WriteUnavailableError",
    "discover_database_path",
]
