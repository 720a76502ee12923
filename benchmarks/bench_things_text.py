"""Characters per item in the text content of every Things list tool, on the sample data.

Run: ``.venv/bin/python benchmarks/bench_things_text.py [--todos N]``

Calls each list tool's function exactly as the MCP server does and measures the text content agents read
(target: ≤ 300 characters per to-do on average) against, in the same run, the pretty-printed JSON of the
same structuredContent — what the text content was before (the SDK's default rendering).
"""

from __future__ import annotations

import argparse
import json
import tempfile
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from mcp.types import CallToolResult

from mcp_server.integrations.things.mcp_tools import tool_specs
from tools.things.database import ThingsDatabase
from tools.things.sample import generate
from tools.things.service import ThingsService
from tools.things.snapshot import ListSnapshots

TODAY = date(2025, 6, 15)
CASES: list[tuple[str, dict[str, Any]]] = [
    *[("things_list_todos", {"list": name}) for name in ("inbox", "today", "upcoming", "anytime", "someday")],
    ("things_list_todos", {"list": "logbook"}),
    ("things_list_todos", {"list": "trash"}),
    ("things_list_todos", {}),
    ("things_list_projects", {}),
    ("things_search", {"query": "e"}),
    ("things_logbook", {}),
    ("things_deadlines", {}),
    ("things_recent", {"since": "2000-01-01"}),
]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--todos", type=int, default=200)
    args = parser.parse_args()
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp:
        sample = generate(Path(tmp) / "main.sqlite", todos=args.todos, today=TODAY, seed=0)
        database = ThingsDatabase(sample.path)
        service = ThingsService(
            database.connect,
            None,
            lambda: datetime(2025, 6, 15, 10, tzinfo=UTC),
            ZoneInfo("Europe/Berlin"),
            snapshots=ListSnapshots(database.stamp),
        )
        tools = {spec.name: spec.fn for spec in tool_specs(service)}
        print(f"{'tool (page of 50)':44} {'items':>5} {'text/item':>10} {'json/item':>10} {'ratio':>6}")
        total_text = total_items = 0
        for name, arguments in CASES:
            result = tools[name](**arguments, limit=50)
            assert isinstance(result, CallToolResult) and result.structured_content is not None
            items = result.structured_content["items"]
            text = "".join(getattr(part, "text", "") for part in result.content)
            pretty = json.dumps(result.structured_content, indent=2, ensure_ascii=False)
            per_text, per_json = len(text) / max(1, len(items)), len(pretty) / max(1, len(items))
            total_text += len(text)
            total_items += len(items)
            what = f"{name} {json.dumps(arguments)}"
            print(f"{what:44} {len(items):5} {per_text:10.0f} {per_json:10.0f} {per_text / per_json:6.2f}")
            rows.append(
                {
                    "what": f"{what} chars/item",
                    "value": round(per_text),
                    "baseline": round(per_json),
                    "ratio": round(per_text / per_json, 3),
                    "target": "<= 300",
                    "verdict": "met" if per_text <= 300 else "missed",
                    "note": "baseline: pretty-printed JSON of the same structuredContent",
                }
            )
        print(f"{'all list tools':44} {total_items:5} {total_text / total_items:10.0f}")
    print("BENCH_JSON " + json.dumps({"rows": rows}))


if __name__ == "__main__":
    main()
