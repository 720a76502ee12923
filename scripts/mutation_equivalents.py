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
        "only ever read as a truth value, and None is false",
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
