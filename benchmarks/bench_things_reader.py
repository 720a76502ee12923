"""Benchmark the Things reader through ``ThingsService`` on a 10 000 to-do sample database.

Run: ``.venv/bin/python benchmarks/bench_things_reader.py [--todos N] [--repeat R]``

Prints the median time of each list view (first page of 50, and a page deep in the list), search,
get-by-id and project listing, each also as a ratio to a baseline measured in the same run: opening a
fresh read-only connection and running ``SELECT 1`` (what every service call pays anyway). A second
baseline shows the cost of the service's fresh-connection-per-call design against a reused connection.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from tools.things.database import ThingsDatabase
from tools.things.reader import ThingsReader, TodoFilter
from tools.things.sample import generate
from tools.things.service import ThingsService

TODAY = date(2025, 6, 15)


def median_ms(fn: Callable[[], object], repeat: int) -> float:
    fn()  # warm the page cache
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--todos", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=30)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "main.sqlite"
        started = time.perf_counter()
        sample = generate(path, todos=args.todos, today=TODAY, seed=1)
        print(f"generated {sample.todo_count} to-dos in {time.perf_counter() - started:.2f} s")
        database = ThingsDatabase(path)
        tz = ZoneInfo("Europe/Berlin")
        service = ThingsService(database.connect, None, lambda: datetime(2025, 6, 15, 10, tzinfo=UTC), tz)

        def baseline() -> None:
            conn = database.connect()
            conn.execute("SELECT 1").fetchone()
            conn.close()

        shared = database.connect()
        shared_reader = ThingsReader(shared, today=TODAY, tz=tz)
        base = median_ms(baseline, args.repeat)
        cases: list[tuple[str, Callable[[], object]]] = []
        for list_id in ("inbox", "today", "upcoming", "anytime", "someday", "logbook", "trash"):
            cases.append((f"list {list_id} (page 1)", lambda name=list_id: service.list_todos(list=name, limit=50)))
        cases += [
            ("list anytime (offset 2000)", lambda: service.list_todos(list="anytime", limit=50, offset=2000)),
            ("list all (limit 500)", lambda: service.list_todos(limit=500)),
            ("list by project", lambda: service.list_todos(project_id=sample.ids["Launch website"], limit=50)),
            ("list by tag", lambda: service.list_todos(tag="money", limit=50)),
            ("search 'rent'", lambda: service.search("rent", limit=50)),
            ("search 'zzz' (no match)", lambda: service.search("zzz", limit=50)),
            ("get_todo", lambda: service.get_todo(sample.ids["Pay rent"])),
            ("list_projects", lambda: service.list_projects(limit=50)),
            ("list_tags", service.list_tags),
            ("today, shared connection", lambda: shared_reader.list_todos(TodoFilter(list="today"), limit=50)),
        ]
        print(f"{'case':32} {'median ms':>10} {'x baseline':>11}")
        print(f"{'baseline: open + SELECT 1':32} {base:10.3f} {1.0:11.1f}")
        for name, fn in cases:
            ms = median_ms(fn, args.repeat)
            print(f"{name:32} {ms:10.3f} {ms / base:11.1f}")
        shared.close()


if __name__ == "__main__":
    main()
