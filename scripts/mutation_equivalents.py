"""Surviving mutants of auth/ shown equivalent: no caller, person or attacker can tell them from the original.

Read by scripts/mutation_scores.py, which counts them apart in the adjusted score and prints the reason next to
each. A mutant is matched by module, function and its changed line, before and after (mutmut's numbers move
whenever the code changes). Add an entry only with the reason it cannot be observed; a survivor that a test
could notice gets a test instead.
"""

from __future__ import annotations

from typing import NamedTuple


class Equivalent(NamedTuple):
    module: str
    function: str  # the function or method name alone: "request", "_key", "__init__"
    before: str  # the changed line, stripped
    after: tuple[str, ...]  # the mutated lines this reason covers, stripped
    reason: str


OPAQUE_ID = "approval ids are opaque handles; the counter and the random part only make them unique"
FALSY = "only ever read as a truth value, and None is false"
FIRST_APPEND_RELOADS = (
    "overwritten before use: the first append always re-reads the head from the file (no file has size -1)"
)
SIZE_ONLY = (
    "the known size only decides whether to re-read the chain head from the file; a wrong one costs a re-read "
    "that finds the same head (it can never equal the real size, which is larger)"
)
TAIL_READ = "how much of the tail is read per round: the same newest complete line is found"
CLOCK_SENTINEL = "an initial value no clock reads (the epoch's first seconds), overwritten by the first stamp"
NO_TYPE_ERROR = "json.loads of bytes raises ValueError, never TypeError, and .get on a dict raises nothing"
CANCELLED_RECORD = (
    "a cancelled call is only recorded, then its cancellation goes on: the record keeps its code (cancelled) and "
    "the approval id, never the withdrawn approval's own fields nor the detail, and nothing returns the decision"
)

EQUIVALENTS: tuple[Equivalent, ...] = (
    Equivalent(
        "tokens",
        "_sign",
        'return hmac.new(signing_key, f"{kind.value}_{token_id}".encode("ascii"), sha256).hexdigest()',
        ('return hmac.new(signing_key, f"{kind.value}_{token_id}".encode("ASCII"), sha256).hexdigest()',),
        "codec names are case-insensitive: the same bytes are signed",
    ),
    Equivalent(
        "scopes",
        "is_reserved",
        'return scope.split(":", 1)[0] == RESERVED_APP',
        ('return scope.split(":", )[0] == RESERVED_APP', 'return scope.split(":", 2)[0] == RESERVED_APP'),
        "the part before the first colon is the same however many times the rest is split",
    ),
    Equivalent(
        "scopes",
        "effective_scopes",
        "return {**scopes, **missing} if missing else scopes",
        ("return {**scopes, **missing} if (missing) or True else scopes",),
        "with nothing missing the copy equals the original (returning the original only saves the copy)",
    ),
    Equivalent(
        "ratelimit",
        "acquire",
        "if elapsed > 0:",
        ("if elapsed >= 0:",),
        "with no time elapsed the refill adds nothing: min(capacity, tokens + 0) is tokens",
    ),
    Equivalent(
        "audit",
        "_seal",
        """return body[:-1] + b',"mac":"' + digest.encode("ascii") + b'"}', digest""",
        ("""return body[:-1] + b',"mac":"' + digest.encode("ASCII") + b'"}', digest""",),
        "codec names are case-insensitive",
    ),
    Equivalent(
        "audit",
        "from_text",
        'seq, _, mac = text.partition(":")',
        ('seq, _, mac = text.rpartition(":")',),
        "a head is written as '<seq>:<hex MAC>': one colon, so splitting at the first or the last is the same",
    ),
    Equivalent(
        "audit",
        "__init__",
        "self._known_size = -1",
        ("self._known_size = None", "self._known_size = -2"),
        "no file has that size either, so the first append re-reads the chain head just the same",
    ),
    *(
        Equivalent("audit", "__init__", before, after, FIRST_APPEND_RELOADS)
        for before, after in [
            ("self._torn = False", ("self._torn = None", "self._torn = True")),
            ("self._seq, self._last_mac = 0, GENESIS", ("self._seq, self._last_mac = 1, GENESIS",)),
        ]
    ),
    Equivalent("audit", "__init__", "self._key = key", ("self._key = None",), "the attribute is never read"),
    Equivalent("audit", "__init__", "self._fsync = fsync", ("self._fsync = None",), FALSY),
    Equivalent("audit", "append_fields", "self._torn = False", ("self._torn = None",), FALSY),
    Equivalent("audit", "append_fields", "size = self._lock_current_file()", ("size = None",), SIZE_ONLY),
    Equivalent(
        "audit",
        "_write_entry",
        "self._known_size += len(line)",
        ("self._known_size = len(line)", "self._known_size -= len(line)"),
        SIZE_ONLY,
    ),
    Equivalent(
        "audit",
        "_write_entry",
        "text: str | None = _encode(entry)",
        ("text: str | None = None",),
        "every entry then takes the neutralising path, which leaves plain text as it is: the same bytes, slower",
    ),
    Equivalent("audit", "_reload_head", "span = 65536", ("span = 65537",), TAIL_READ),
    Equivalent("audit", "_reload_head", "span *= 4", ("span *= 5",), TAIL_READ),
    Equivalent(
        "audit",
        "_reload_head",
        "block = fh.read(size - start)",
        ("block = fh.read(None)", "block = fh.read(size + start)"),
        "both read to the end of the file, which no writer extends while this one holds the lock",
    ),
    *(
        Equivalent("audit", "__init__", before, after, CLOCK_SENTINEL)
        for before, after in [
            ("self._second = -1", ("self._second = None", "self._second = +1", "self._second = -2")),
            ('self._prefix = ""', ("self._prefix = None", 'self._prefix = "XXXX"')),
        ]
    ),
    Equivalent(
        "audit",
        "now",
        "self._second = second",
        ("self._second = None",),
        "the date is then formatted on every call: the same text, slower",
    ),
    *(
        Equivalent("audit", function, "with contextlib.suppress(ValueError, TypeError, AttributeError):", after, reason)
        for function, after, reason in [
            ("_is_recovery", ("with contextlib.suppress(ValueError, AttributeError):",), NO_TYPE_ERROR),
            (
                "_mac_of_seq",
                (
                    "with contextlib.suppress(ValueError, AttributeError):",
                    "with contextlib.suppress(ValueError, None, AttributeError):",
                    "with contextlib.suppress(ValueError, TypeError, None):",
                    "with contextlib.suppress(ValueError, TypeError, ):",
                ),
                "it reads only lines that verified (or torn prefixes of entries, which start with '{'): json.loads "
                "raises nothing but ValueError on them and each is an object",
            ),
        ]
    ),
    Equivalent(
        "gate",
        "conclude",
        "with anyio.CancelScope(shield=True):",
        ("with anyio.CancelScope(shield=None):", "with anyio.CancelScope(shield=False):"),
        "the shielded block has no await (recording is synchronous), so no cancellation can be delivered inside it",
    ),
    Equivalent(
        "gate",
        "conclude",
        'waited_on = ApprovalDecision(False, "withdrawn", approval_id=asked[0]) if asked else None',
        tuple(
            f"waited_on = ApprovalDecision({a}, {r}, approval_id=asked[0]) if asked else None"
            for a, r in [
                ("None", '"withdrawn"'),
                ("False", "None"),
                ("True", '"withdrawn"'),
                ("False", '"XXwithdrawnXX"'),
                ("False", '"WITHDRAWN"'),
            ]
        ),
        CANCELLED_RECORD,
    ),
    Equivalent(
        "gate",
        "conclude",
        'cancelled = replace(decision, code="cancelled", detail="cancelled", approval=waited_on)',
        (
            'cancelled = replace(decision, code="cancelled", detail=None, approval=waited_on)',
            'cancelled = replace(decision, code="cancelled", approval=waited_on)',
            'cancelled = replace(decision, code="cancelled", detail="XXcancelledXX", approval=waited_on)',
            'cancelled = replace(decision, code="cancelled", detail="CANCELLED", approval=waited_on)',
        ),
        CANCELLED_RECORD,
    ),
    Equivalent(
        "gate",
        "conclude",
        "assert isinstance(identity, Principal) and scope is not None",
        ("assert isinstance(identity, Principal) or scope is not None",),
        "needs_approval comes only from decide() for a principal and a scope, so both halves always hold",
    ),
    *(
        Equivalent("gate", function, before, after, "SQL keywords and SQLite identifiers are case-insensitive")
        for function, before, after in [
            (
                "_latest_seq",
                'row = self._watch.execute("SELECT COALESCE(MAX(seq), 0) FROM changes").fetchone()',
                (
                    'row = self._watch.execute("select coalesce(max(seq), 0) from changes").fetchone()',
                    'row = self._watch.execute("SELECT COALESCE(MAX(SEQ), 0) FROM CHANGES").fetchone()',
                ),
            ),
            (
                "_read_data_version",
                'return int(self._watch.execute("PRAGMA data_version").fetchone()[0])',
                (
                    'return int(self._watch.execute("pragma data_version").fetchone()[0])',
                    'return int(self._watch.execute("PRAGMA DATA_VERSION").fetchone()[0])',
                ),
            ),
        ]
    ),
    Equivalent(
        "gate",
        "_malformed",
        "_WELL_FORMED[scope] = True",
        ("_WELL_FORMED[scope] = None", "_WELL_FORMED[scope] = False"),
        "the cache is read by membership only ('scope in _WELL_FORMED'), never by value",
    ),
    Equivalent(
        "gate",
        "record_result",
        "fields = {k: v for k, v in details.items() if v is not None} if details else {}",
        ("fields = {k: v for k, v in details.items() if v is not None} if (details) or True else {}",),
        "the comprehension over no details is the same empty dict",
    ),
    Equivalent(
        "approvals",
        "_key",
        'return ("digest", family_id, prepared.digest)',
        ('return ("XXdigestXX", family_id, prepared.digest)', 'return ("DIGEST", family_id, prepared.digest)'),
        "the two key shapes differ in length (3 and 5 items), so the tag never decides whether two keys are equal",
    ),
    Equivalent(
        "approvals",
        "_key",
        'return ("summary", family_id, scope, operation, summary)',
        (
            'return ("XXsummaryXX", family_id, scope, operation, summary)',
            'return ("SUMMARY", family_id, scope, operation, summary)',
        ),
        "the two key shapes differ in length (3 and 5 items), so the tag never decides whether two keys are equal",
    ),
    Equivalent(
        "approvals",
        "__init__",
        "self._counter = itertools.count(1)",
        ("self._counter = itertools.count(2)",),
        OPAQUE_ID,
    ),
    Equivalent(
        "approvals",
        "request",
        'id=f"ap_{next(self._counter)}_{secrets.token_hex(4)}",',
        (
            'id=f"ap_{next(self._counter)}_{secrets.token_hex(None)}",',
            'id=f"ap_{next(self._counter)}_{secrets.token_hex(5)}",',
        ),
        OPAQUE_ID,
    ),
    Equivalent(
        "approvals",
        "__init__",
        "self._closed = False",
        ("self._closed = None",),
        FALSY,
    ),
    Equivalent(
        "approvals",
        "_finish",
        "self._pending.pop(approval.id, None)",
        ("self._pending.pop(approval.id, )",),
        "an undecided approval is always in _pending (registered before its first waiter, removed only here, "
        "after which its decision is set and _finish returns early), so the default is never used",
    ),
    Equivalent(
        "approvals",
        "request",
        "approval = self._pending.get(existing_id) if existing_id else None",
        ("approval = self._pending.get(existing_id) if (existing_id) or True else None",),
        "_pending.get(None) is None, the same as the else branch",
    ),
    Equivalent(
        "approvals",
        "request",
        "with anyio.CancelScope(shield=True):",
        ("with anyio.CancelScope(shield=None):", "with anyio.CancelScope(shield=False):"),
        "the shielded block has no await (_finish is synchronous), so no cancellation can be delivered inside it",
    ),
)


def equivalent_reason(module: str, mutant_name: str, removed: list[str], added: list[str]) -> str | None:
    """The reason this one-line mutant is equivalent, or None."""
    if len(removed) != 1 or len(added) != 1:
        return None
    function = mutant_name.rsplit("__mutmut_", 1)[0].rsplit("ǁ", 1)[-1].removeprefix(f"auth.{module}.x_")
    before, after = removed[0].strip(), added[0].strip()
    for entry in EQUIVALENTS:
        if (entry.module, entry.function, entry.before) == (module, function, before) and after in entry.after:
            return entry.reason
    return None
