"""Every tool's structuredContent validates against its own outputSchema, formats included.

Strict clients (the TypeScript SDK with ajv-formats, which the Inspector and Claude Code build on) refuse a
result that does not match the tool's declared output schema, format keywords included; the Python SDK does
not check formats. The calls below fill every field the schemas declare (a second pass asserts that each
declared property occurred with a non-null value), so an undeclared shape anywhere fails here.
"""

from __future__ import annotations

import json
import time
from collections import defaultdict
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from mcp import Client

from mcp_server.daemon.context import DaemonContext
from mcp_server.integration import ToolsOnly
from mcp_server.integrations.gpg import Gpg
from mcp_server.integrations.things import Things
from mcp_server.integrations.things.mcp_tools import tool_specs as things_tool_specs
from mcp_server.mcp.server import build_mcp_server
from tests.gpg.gpg_support import commit_payload, run_gpg
from tests.integrations.conftest import BERLIN, TODAY, noon
from tests.integrations.gpg_fixtures import GpgKeys, daemon_context, gpg_keys, gpg_settings, token
from tests.support.daemon import isolated_env
from tests.support.schemas import (
    FORMAT_CHECKER,
    MUST_FAIL,
    non_null_paths,
    property_paths,
    schema_errors,
)
from tools.things import ItemRateLimiter, ThingsDatabase, ThingsService, ThingsWriter
from tools.things.models import LIST_IDS
from tools.things.sample import SampleDatabase, generate

pytestmark = pytest.mark.anyio

EVE = "Eve Example <eve@example.org>"
ALL_SCOPES = {"things_read": "allow", "things_write": "allow", "gpg_sign": "allow", "gpg_verify": "allow"}


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="module")
def keys() -> Iterator[GpgKeys]:
    """Throwaway keys plus one that expires, so ``expires_timestamp`` occurs."""
    with gpg_keys() as made:
        run_gpg(
            made.home,
            "--pinentry-mode",
            "loopback",
            "--passphrase",
            "",
            "--quick-gen-key",
            EVE,
            "ed25519",
            "sign",
            "2y",
        )
        yield made


def _fingerprint(home: Path, user_id: str) -> str:
    listing = run_gpg(home, "--with-colons", "--list-secret-keys", user_id)
    return next(line.split(":")[9] for line in listing.splitlines() if line.startswith("fpr:"))


@pytest.fixture
def sample(tmp_path: Path) -> SampleDatabase:
    return generate(tmp_path / "things.sqlite", todos=120, today=TODAY, seed=5)


@asynccontextmanager
async def connected(ctx: DaemonContext, label: str = "schema-test") -> AsyncIterator[Client]:
    access = token(ctx, label=label, **ALL_SCOPES)
    registry = ctx.tool_registry
    assert registry is not None
    server, _ = build_mcp_server(ctx.gate, registry, token_source=lambda _ctx: access)
    async with Client(server) as client:
        yield client


@pytest.fixture
def ctx(tmp_path: Path, keys: GpgKeys, sample: SampleDatabase) -> Iterator[DaemonContext]:
    eve = _fingerprint(keys.home, "eve@example.org")
    with isolated_env(tmp_path / "home") as env:
        settings = gpg_settings(env, keys, things_database=sample.path, gpg_allowed_keys=(*keys.allowed, eve))
        with daemon_context(settings, [Gpg(), Things()]) as context:
            yield context


class IgnoredByThings:
    """Stands in for a Things app that never applies a URL (e.g. 'Enable Things URLs' is off)."""

    def open(self, url: str) -> None:
        return None


@pytest.fixture
def unallowlisted_ctx(tmp_path: Path, keys: GpgKeys, sample: SampleDatabase) -> Iterator[DaemonContext]:
    """No key allowlisted (``gpg_list_keys`` explains why in ``note``); Things ignores writes (``submitted``)."""
    writer = ThingsWriter(IgnoredByThings(), ItemRateLimiter(time.monotonic), sleep=lambda _s: None)
    service = ThingsService(ThingsDatabase(sample.path).connect, writer, lambda: noon(TODAY), BERLIN)
    ignored = ToolsOnly("things", things_tool_specs(service))
    with (
        isolated_env(tmp_path / "bare") as env,
        daemon_context(gpg_settings(env, keys, gpg_allowed_keys=()), [Gpg(), ignored]) as c,
    ):
        yield c


def test_the_format_checker_really_checks_time_and_date_time() -> None:
    """Without rfc3339-validator jsonschema accepts any 'time'; the schema tests would then prove nothing."""
    for fmt, bad in MUST_FAIL.items():
        assert not FORMAT_CHECKER.conforms(bad, fmt)
    assert FORMAT_CHECKER.conforms("07:30:00+02:00", "time")
    assert FORMAT_CHECKER.conforms("2025-06-15T07:30:00Z", "date-time")


async def _calls(client: Client, sample: SampleDatabase, keys: GpgKeys) -> list[tuple[str, dict[str, Any]]]:
    """(tool, arguments) covering every tool and every optional field of every result."""
    listing = await client.call_tool("things_list_todos", {"limit": 500})
    todo_ids = [item["id"] for item in (listing.structured_content or {}).get("items", [])]
    project_ids = []
    for status in ("open", "completed"):  # the default lists open projects only
        projects = await client.call_tool("things_list_projects", {"status": status, "limit": 500})
        project_ids += [item["id"] for item in (projects.structured_content or {}).get("items", [])]
    payload = commit_payload("Check the schemas").decode()
    signed = await client.call_tool("gpg_sign", {"payload": payload, "key": keys.alice})
    signature = (signed.structured_content or {}).get("signature", "")
    calls: list[tuple[str, dict[str, Any]]] = [
        ("whoami", {}),
        *[("things_list_todos", {"list": name, "limit": 500}) for name in LIST_IDS],
        ("things_list_todos", {"limit": 500}),
        ("things_list_todos", {"status": "completed", "limit": 500}),
        ("things_list_todos", {"status": "canceled", "limit": 500}),
        *[("things_get_todo", {"todo_id": todo_id}) for todo_id in todo_ids],
        ("things_list_projects", {"limit": 500}),
        ("things_list_projects", {"status": "completed", "limit": 500}),
        *[("things_get_project", {"project_id": project_id}) for project_id in project_ids],
        ("things_list_areas", {}),
        ("things_list_tags", {}),
        ("things_search", {"query": "e", "limit": 500}),
        ("things_search", {"query": "a", "limit": 500}),
        (
            "things_add_todo",
            {"title": "Schema check", "notes": "n", "when": "today", "deadline": str(TODAY), "tags": ["Errand"]},
        ),
        ("things_add_project", {"title": "Schema project", "todos": ["one"]}),
        ("things_update_todo", {"todo_id": sample.ids["Buy milk"], "append_notes": "more"}),
        ("things_logbook", {"limit": 500}),
        ("things_deadlines", {"limit": 500}),
        ("things_recent", {"since": "2000-01-01", "limit": 500}),
        ("things_recent", {"changed": True, "limit": 500}),
        ("things_list_headings", {}),
        ("things_get_area", {"area_id": sample.ids["area:Work"]}),
        ("things_tag_usage", {}),
        ("things_update_project", {"project_id": sample.ids["Launch website"], "append_notes": "more"}),
        ("things_show", {"id": sample.ids["Buy milk"]}),
        ("gpg_list_keys", {}),
        ("gpg_sign", {"payload": payload, "key": keys.bob}),
        ("gpg_verify", {"signature": signature, "payload": payload}),
        ("gpg_verify", {"signature": signature, "payload": payload + "tampered\n"}),
    ]
    return calls


async def test_every_tool_result_validates_against_its_output_schema_and_fills_every_field(
    ctx: DaemonContext, unallowlisted_ctx: DaemonContext, sample: SampleDatabase, keys: GpgKeys
) -> None:
    seen: dict[str, set[str]] = defaultdict(set)
    problems: list[str] = []
    async with connected(ctx) as client:
        schemas = {tool.name: tool.output_schema for tool in (await client.list_tools()).tools}
        for name, arguments in await _calls(client, sample, keys):
            result = await client.call_tool(name, arguments)
            assert not result.is_error, (name, arguments, result.content)
            schema = schemas[name]
            assert schema is not None, f"{name} declares no outputSchema"
            problems += [f"{name}: {error}" for error in schema_errors(schema, result.structured_content)]
            seen[name].update(non_null_paths(result.structured_content))
    async with connected(unallowlisted_ctx) as bare:
        unapplied = [
            ("gpg_list_keys", {}),
            ("things_add_todo", {"title": "Never applied"}),
            ("things_add_project", {"title": "Never applied"}),
            ("things_update_todo", {"todo_id": sample.ids["Buy milk"], "title": "Never applied"}),
        ]
        for name, arguments in unapplied:
            result = await bare.call_tool(name, arguments)
            assert not result.is_error, (name, result.content)
            problems += [f"{name}: {e}" for e in schema_errors(schemas[name] or {}, result.structured_content)]
            seen[name].update(non_null_paths(result.structured_content))

    assert not problems, "\n".join(problems[:20])
    assert set(seen) == set(schemas), "every tool is called"
    # Tools that publish the same output schema (every list view, every write) share the coverage: a
    # field that only some of their results can hold (a to-do's reminder in the Logbook) counts once.
    shared: dict[str, set[str]] = defaultdict(set)
    for name in schemas:
        shared[json.dumps(schemas[name], sort_keys=True)] |= seen[name]
    never_filled = {
        name: sorted(property_paths(schemas[name] or {}) - shared[json.dumps(schemas[name], sort_keys=True)])
        for name in schemas
    }
    assert not {name: paths for name, paths in never_filled.items() if paths}, never_filled


# (readOnlyHint, destructiveHint, idempotentHint, openWorldHint): what each tool can do to the user's data.
ANNOTATIONS = {
    "whoami": (True, False, True, False),
    "things_list_todos": (True, False, True, False),
    "things_get_todo": (True, False, True, False),
    "things_list_projects": (True, False, True, False),
    "things_get_project": (True, False, True, False),
    "things_list_areas": (True, False, True, False),
    "things_list_tags": (True, False, True, False),
    "things_search": (True, False, True, False),
    "things_add_todo": (False, False, False, False),  # adds; a second call adds a second to-do
    "things_add_project": (False, False, False, False),
    "things_update_todo": (False, True, False, False),  # renames, completes, cancels; notes append
    "gpg_list_keys": (True, False, True, False),
    "gpg_sign": (False, False, False, False),  # uses a private key; each signature is new
    "gpg_verify": (True, False, True, False),
}


async def test_annotations_say_what_each_tool_can_do(ctx: DaemonContext) -> None:
    async with connected(ctx) as client:
        tools = {tool.name: tool for tool in (await client.list_tools()).tools}

    for name, tool in tools.items():
        hints = tool.annotations
        assert hints is not None, name
        found = (hints.read_only_hint, hints.destructive_hint, hints.idempotent_hint, hints.open_world_hint)
        assert None not in found, f"{name} leaves a hint unset"
        assert not (hints.read_only_hint and hints.destructive_hint), name
        if name in ANNOTATIONS:
            assert found == ANNOTATIONS[name], name
    assert set(ANNOTATIONS) <= set(tools)
