"""The grammar of what git asks a ``gpg.program`` to sign: commits, tags and push certificates.

:func:`parse_git_payload` accepts exactly the object layouts git writes (see
``/work/shared/reference/GIT-GPG.md``) and returns a summary for the approval prompt and the audit
log. It refuses a payload that is already signed (a ``gpgsig``/``gpgsig-sha256`` header or an
armored signature block in the message), since signing that would double-sign or launder a
signature. A ``mergetag`` header may legitimately carry the signature of the merged tag inside its
continuation lines; that is not treated as "already signed".

All text in a summary is sanitised: control and format characters (ANSI escapes, bidi overrides,
newlines) are shown as their escapes (``\\x1b[2K``) so a payload cannot redraw the approval prompt.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from tools.gpg.errors import PayloadAlreadySignedError, PayloadNotGitObjectError

__all__ = [
    "CommitSummary",
    "Ident",
    "PayloadSummary",
    "PushCertificateSummary",
    "RefUpdate",
    "TagSummary",
    "parse_git_payload",
    "printable",
]

_OBJECT_ID = re.compile(rb"\A(?:[0-9a-f]{40}|[0-9a-f]{64})\Z")
_IDENT = re.compile(rb"\A(?P<name>[^<>\n]*?) ?<(?P<email>[^<>\n]*)> (?P<ts>[0-9]{1,20}) (?P<tz>[+-][0-9]{4})\Z")
_HEADER_KEY = re.compile(rb"\A[a-z0-9][a-z0-9-]*\Z")
_TAG_NAME = re.compile(rb"\A[^\x00-\x20\x7f~^:?*\[\\]+\Z")
_REF_UPDATE = re.compile(rb"\A(?P<old>[0-9a-f]{40}|[0-9a-f]{64}) (?P<new>[0-9a-f]{40}|[0-9a-f]{64}) (?P<ref>\S+)\Z")
_SIGNATURE_HEADERS = frozenset({b"gpgsig", b"gpgsig-sha256"})
_ARMOR_BLOCKS = (
    b"-----BEGIN PGP SIGNATURE-----",
    b"-----BEGIN PGP MESSAGE-----",
    b"-----BEGIN PGP SIGNED MESSAGE-----",
    b"-----BEGIN SSH SIGNATURE-----",
    b"-----BEGIN SIGNED MESSAGE-----",
)
_OBJECT_TYPES = frozenset({b"commit", b"tree", b"blob", b"tag"})
_SUBJECT_LIMIT = 120


def printable(text: str, limit: int = 200) -> str:
    """``text`` with every non-printable character shown as its escape (ESC as ``\\x1b``, an RLO as ``\\u202e``),
    never dropped, cut to ``limit`` characters. (The daemon neutralises it again where it meets a terminal.)"""
    cleaned = "".join(ch if ch.isprintable() else ch.encode("unicode_escape").decode("ascii") for ch in text)
    return cleaned if len(cleaned) <= limit else cleaned[: limit - 1] + "…"


def _text(raw: bytes, limit: int = 200) -> str:
    return printable(raw.decode("utf-8", "replace"), limit)


@dataclass(frozen=True)
class Ident:
    """``Name <email> <unix seconds> <+hhmm>`` as git writes author, committer, tagger, pusher."""

    name: str
    email: str
    timestamp: int
    timezone: str

    def __str__(self) -> str:
        return f"{self.name} <{self.email}>"


@dataclass(frozen=True)
class CommitSummary:
    tree: str
    parent_count: int
    author: Ident
    committer: Ident
    subject: str
    encoding: str | None
    kind: str = "commit"


@dataclass(frozen=True)
class TagSummary:
    object_id: str
    object_type: str
    tag_name: str
    tagger: Ident | None
    subject: str
    kind: str = "tag"


@dataclass(frozen=True)
class RefUpdate:
    old: str
    new: str
    ref: str


@dataclass(frozen=True)
class PushCertificateSummary:
    pusher: Ident
    pushee: str | None
    nonce: str
    updates: tuple[RefUpdate, ...]
    kind: str = "push-certificate"


PayloadSummary = CommitSummary | TagSummary | PushCertificateSummary


def _reject(reason: str) -> PayloadNotGitObjectError:
    return PayloadNotGitObjectError(
        f"the payload is not a git commit, tag or push certificate ({reason}); only git's own "
        "signing requests are accepted — use `git commit -S` / `git tag -s`"
    )


def _already_signed(where: str) -> PayloadAlreadySignedError:
    return PayloadAlreadySignedError(
        f"the payload already carries a signature ({where}); sign the unsigned object instead"
    )


@dataclass(frozen=True)
class _Header:
    key: bytes
    value: bytes
    continuation: tuple[bytes, ...]


def _split(payload: bytes) -> tuple[list[_Header], bytes]:
    if b"\x00" in payload:
        raise _reject("it contains a NUL byte")
    head, separator, body = payload.partition(b"\n\n")
    if not separator:
        raise _reject("no blank line between headers and message")
    headers: list[_Header] = []
    for line in head.split(b"\n"):
        if line.startswith(b" "):
            if not headers:
                raise _reject("continuation line before the first header")
            last = headers[-1]
            headers[-1] = _Header(last.key, last.value, (*last.continuation, line[1:]))
            continue
        key, space, value = line.partition(b" ")
        if not space or not _HEADER_KEY.match(key):
            raise _reject("malformed header line")
        if key in _SIGNATURE_HEADERS:
            raise _already_signed(f"a {key.decode()} header")
        headers.append(_Header(key, value, ()))
    return headers, body


def _check_body(body: bytes) -> None:
    for line in body.split(b"\n"):
        if line.rstrip(b"\r").startswith(_ARMOR_BLOCKS):
            raise _already_signed("an armored signature block in the message")


def _object_id(value: bytes, what: str) -> str:
    if not _OBJECT_ID.match(value):
        raise _reject(f"{what} is not a full lower-case object id")
    return value.decode("ascii")


def _ident(value: bytes, what: str) -> Ident:
    match = _IDENT.match(value)
    if match is None:
        raise _reject(f"{what} is not 'Name <email> seconds +zone'")
    return Ident(
        name=_text(match["name"], 100),
        email=_text(match["email"], 100),
        timestamp=int(match["ts"]),
        timezone=match["tz"].decode("ascii"),
    )


def _subject(body: bytes) -> str:
    paragraph = body.lstrip(b"\n").split(b"\n\n", 1)[0]
    return _text(b" ".join(line.strip() for line in paragraph.split(b"\n") if line.strip()), _SUBJECT_LIMIT)


def _single(headers: list[_Header], index: int, key: bytes) -> bytes:
    if index >= len(headers) or headers[index].key != key or headers[index].continuation:
        raise _reject(f"expected a '{key.decode()}' header at line {index + 1}")
    return headers[index].value


def _parse_commit(headers: list[_Header], body: bytes) -> CommitSummary:
    tree = _object_id(_single(headers, 0, b"tree"), "tree")
    index = 1
    while index < len(headers) and headers[index].key == b"parent":
        _object_id(_single(headers, index, b"parent"), "parent")
        index += 1
    parent_count = index - 1
    author = _ident(_single(headers, index, b"author"), "author")
    committer = _ident(_single(headers, index + 1, b"committer"), "committer")
    encoding: str | None = None
    for header in headers[index + 2 :]:
        if header.key in (b"tree", b"parent", b"author", b"committer"):
            raise _reject(f"duplicate or misplaced '{header.key.decode()}' header")
        if header.key == b"encoding":
            encoding = _text(header.value, 40)
    _check_body(body)
    return CommitSummary(
        tree=tree,
        parent_count=parent_count,
        author=author,
        committer=committer,
        subject=_subject(body),
        encoding=encoding,
    )


def _parse_tag(headers: list[_Header], body: bytes) -> TagSummary:
    object_id = _object_id(_single(headers, 0, b"object"), "object")
    object_type = _single(headers, 1, b"type")
    if object_type not in _OBJECT_TYPES:
        raise _reject("unknown tagged object type")
    tag_name = _single(headers, 2, b"tag")
    if not _TAG_NAME.match(tag_name):
        raise _reject("invalid tag name")
    tagger: Ident | None = None
    rest = headers[3:]
    if rest and rest[0].key == b"tagger":
        tagger = _ident(_single(headers, 3, b"tagger"), "tagger")
        rest = rest[1:]
    for header in rest:
        if header.key in (b"object", b"type", b"tag", b"tagger"):
            raise _reject(f"duplicate or misplaced '{header.key.decode()}' header")
    _check_body(body)
    return TagSummary(
        object_id=object_id,
        object_type=object_type.decode("ascii"),
        tag_name=_text(tag_name, 100),
        tagger=tagger,
        subject=_subject(body),
    )


def _parse_push_certificate(headers: list[_Header], body: bytes) -> PushCertificateSummary:
    if _single(headers, 0, b"certificate") != b"version 0.1":
        raise _reject("unsupported push certificate version")
    pusher = _ident(_single(headers, 1, b"pusher"), "pusher")
    index = 2
    pushee: str | None = None
    if index < len(headers) and headers[index].key == b"pushee":
        pushee = _text(_single(headers, index, b"pushee"), 200)
        index += 1
    nonce = _text(_single(headers, index, b"nonce"), 100)
    for header in headers[index + 1 :]:
        if header.key != b"push-option" or header.continuation:
            raise _reject(f"unexpected '{header.key.decode()}' header in a push certificate")
    _check_body(body)
    updates: list[RefUpdate] = []
    for line in body.split(b"\n"):
        if not line:
            continue
        match = _REF_UPDATE.match(line)
        if match is None:
            raise _reject("push certificate lines must be '<old> <new> <ref>'")
        updates.append(
            RefUpdate(
                old=match["old"].decode("ascii"),
                new=match["new"].decode("ascii"),
                ref=_text(match["ref"], 200),
            )
        )
    if not updates:
        raise _reject("push certificate without ref updates")
    return PushCertificateSummary(pusher=pusher, pushee=pushee, nonce=nonce, updates=tuple(updates))


def parse_git_payload(payload: bytes) -> PayloadSummary:
    """Parse a signing payload git produced; raise a :class:`PayloadError` subclass otherwise."""
    headers, body = _split(payload)
    first = headers[0].key if headers else b""
    if first == b"tree":
        return _parse_commit(headers, body)
    if first == b"object":
        return _parse_tag(headers, body)
    if first == b"certificate":
        return _parse_push_certificate(headers, body)
    raise _reject("it starts with neither 'tree', 'object' nor 'certificate'")
