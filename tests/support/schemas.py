"""Strict JSON Schema checks of MCP tool results: what a client with format checking (ajv-formats) sees.

``jsonschema`` checks the ``time`` and ``date-time`` formats only when ``rfc3339-validator`` is installed;
without it those formats pass anything. :func:`strict_validator` refuses to run in that case, so a test
built on it cannot silently stop checking.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

FORMAT_CHECKER = Draft202012Validator.FORMAT_CHECKER
# Values a strict client refuses: if the checker accepts any of these it is not checking that format.
MUST_FAIL = {"time": "07:30:00", "date-time": "2025-06-15T07:30:00", "date": "2025-13-01"}


def assert_formats_are_checked() -> None:
    for fmt, bad in MUST_FAIL.items():
        assert not FORMAT_CHECKER.conforms(bad, fmt), f"jsonschema does not check format {fmt!r} here"


def strict_validator(schema: Mapping[str, Any]) -> Draft202012Validator:
    assert_formats_are_checked()
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema, format_checker=FORMAT_CHECKER)


def schema_errors(schema: Mapping[str, Any], instance: Any) -> list[str]:
    """Every violation, each as ``path: message``; empty when the instance conforms."""
    return [
        f"{'/'.join(map(str, error.absolute_path)) or '(root)'}: {error.message}"
        for error in strict_validator(schema).iter_errors(instance)
    ]


def property_paths(schema: Mapping[str, Any]) -> set[str]:
    """Every property a schema declares, as dotted paths (``items[].reminder``), ``$ref`` s followed."""
    registry: Registry[Any] = Registry().with_resource("", Resource(dict(schema), DRAFT202012))
    resolver = registry.resolver()
    found: set[str] = set()

    def walk(node: Any, path: str, seen: frozenset[str]) -> None:
        if not isinstance(node, Mapping):
            return
        ref = node.get("$ref")
        if isinstance(ref, str):
            if ref in seen:
                return
            walk(resolver.lookup(ref).contents, path, seen | {ref})
        for key in ("anyOf", "oneOf", "allOf"):
            for option in node.get(key, []):
                walk(option, path, seen)
        if isinstance(node.get("items"), Mapping):
            walk(node["items"], f"{path}[]", seen)
        for name, sub in (node.get("properties") or {}).items():
            child = f"{path}.{name}" if path else name
            found.add(child)
            walk(sub, child, seen)

    walk(schema, "", frozenset())
    return found


def non_null_paths(instance: Any, path: str = "") -> Iterator[str]:
    """The dotted paths of an instance whose value is present and not null (lists as ``[]``)."""
    if isinstance(instance, Mapping):
        for name, value in instance.items():
            child = f"{path}.{name}" if path else name
            if value is not None:
                yield child
                yield from non_null_paths(value, child)
    elif isinstance(instance, list):
        for item in instance:
            yield from non_null_paths(item, f"{path}[]")
