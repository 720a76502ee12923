"""Our Things reader against ``things.py`` (the ``things-py`` package) on a generated 10 000 to-do library.

Run:
    .venv/bin/pip install --target ~/.cache/agent-auth/bench-deps things.py   # once; benchmark-only
    .venv/bin/python benchmarks/bench_things_vs_thingspy.py [--todos N] [--repeat R]

(``things.py`` ships a top-level ``tests`` package that would shadow ours in the venv, hence its own
folder outside the repository; ``THINGS_PY_PATH`` names another.)

For each built-in list it times reading the whole list page by page through ``ThingsService`` (with an
empty snapshot cache each time, so every read scans once, as things.py does) against ``things.py``
reading the same list in its single query, both on the same file in the same run, and prints the
ratio: with the largest page (500; target ≤ 1.2) and with pages of 50 (as an agent pages; reported).
Where the two lists differ in size (our Someday holds the to-dos of Someday projects, things.py's
Anytime does), the ratio per item is shown too. Also: open projects (target ≤ 10 ms) and the first
page of 50 (target ≤ 15 ms), in process, from an empty snapshot cache.

The machine is shared and noisy, so the cases alternate within every round (order reversed each
round, ``benchmarks._harness.interleave``) and each figure is the median of its rounds.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from benchmarks._harness import interleave
from tools.things.database import ThingsDatabase
from tools.things.models import Page
from tools.things.sample import generate
from tools.things.service import ThingsService
from tools.things.snapshot import ListSnapshots

PAGE = 50
MAX_PAGE = 500
SIZES = (MAX_PAGE, PAGE)
LISTS = ("inbox", "today", "upcoming", "anytime", "someday", "logbook", "trash")


DEPS = Path(os.environ.get("THINGS_PY_PATH", str(Path.home() / ".cache" / "agent-auth" / "bench-deps")))


def _things_py() -> Any:
    sys.path.append(str(DEPS))  # appended: our own packages win
    try:
        import things  # type: ignore[import-not-found]
    except ImportError:
        sys.exit(f"things.py is not installed: .venv/bin/pip install --target {DEPS} things.py")
    return things


def samples_ms(fn: Callable[[], object]) -> Callable[[], list[float]]:
    """One timed call, as a case for ``interleave``."""

    def case() -> list[float]:
        start = time.perf_counter()
        fn()
        return [(time.perf_counter() - start) * 1000]

    return case


def whole_list(read: Callable[[int], Page[Any]]) -> int:
    seen = 0
    while True:
        page = read(seen)
        seen += len(page.items)
        if seen >= page.total or not page.items:
            return seen


def cold_whole_list(service: ThingsService, list_id: str, page: int) -> int:
    return whole_list(lambda offset: service.list_todos(list=list_id, limit=page, offset=offset))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--todos", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=9, help="rounds (each measures every case once)")
    args = parser.parse_args()
    things = _things_py()
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "main.sqlite"
        # things.py computes today from the wall clock, so the sample is dated today too.
        sample = generate(path, todos=args.todos, today=datetime.now(UTC).date(), seed=1)
        database = ThingsDatabase(path)

        def fresh_service() -> ThingsService:
            """A service with an empty snapshot cache: every whole-list read scans once, as things.py does."""
            return ThingsService(
                database.connect, None, lambda: datetime.now(UTC), UTC, snapshots=ListSnapshots(database.stamp)
            )

        service = fresh_service()
        db = str(path)
        theirs: dict[str, Callable[[], object]] = {name: getattr(things, name) for name in LISTS}
        print(f"{sample.todo_count} to-dos; things.py {getattr(things, '__version__', '?')}")
        print(f"{'case (median ms)':42} {'ours ms':>9} {'things.py ms':>13} {'ratio':>7} {'target':>8}")

        def row(what: str, ours: float, base: float | None, target: str, ok: bool, note: str = "") -> None:
            ratio = ours / base if base else None
            shown = f"{ratio:7.2f}" if ratio is not None else f"{'':7}"
            base_shown = f"{base:13.2f}" if base is not None else f"{'':13}"
            print(f"{what:42} {ours:9.2f} {base_shown} {shown} {target:>8}  {note}")
            rows.append(
                {
                    "what": what,
                    "value": round(ours, 3),
                    "baseline": None if base is None else round(base, 3),
                    "ratio": None if ratio is None else round(ratio, 3),
                    "target": target,
                    "verdict": "met" if ok else "missed",
                    "note": f"ms, median; {note}" if note else "ms, median",
                }
            )

        # Ours and things.py alternate within every round (order reversed each round) on this shared,
        # noisy machine; each figure is the median of its samples, and every ratio is of same-run medians.
        for name in LISTS:
            fn = theirs[name]
            count = whole_list(lambda o, n=name: service.list_todos(list=n, limit=MAX_PAGE, offset=o))
            their_count = len(fn(filepath=db, type="to-do"))
            stats = interleave(
                {
                    "things.py": samples_ms(lambda fn=fn: fn(filepath=db, type="to-do")),
                    **{
                        f"ours {k}": samples_ms(lambda n=name, k=k: cold_whole_list(fresh_service(), n, k))
                        for k in SIZES
                    },
                },
                args.repeat,
            )
            base = stats["things.py"].median
            # The lists differ where the app's rules differ from things.py's (to-dos of Someday projects
            # are in our Someday, not Anytime): the ratio per item is shown beside the ratio per list.
            per_item = (stats[f"ours {MAX_PAGE}"].median / count) / (base / their_count)
            for size, target in ((MAX_PAGE, "<= 1.2x"), (PAGE, "reported")):
                ours = stats[f"ours {size}"].median
                ok = ours <= 1.2 * base or target == "reported"
                note = f"{count} items (things.py {their_count}); per item {per_item:.2f}x" if size == MAX_PAGE else ""
                row(f"whole {name} by pages of {size}", ours, base, target, ok, note)
        stats = interleave(
            {
                "things.py": samples_ms(lambda: things.projects(filepath=db, status="incomplete")),
                "ours": samples_ms(lambda: service.list_projects(limit=PAGE)),
            },
            args.repeat,
        )
        projects = stats["ours"].median
        row("open projects (page of 50)", projects, stats["things.py"].median, "<= 10 ms", projects <= 10)
        # A fresh service each time: a first page is not served from an earlier read's snapshot.
        firsts = interleave(
            {n: samples_ms(lambda n=n: fresh_service().list_todos(list=n, limit=PAGE)) for n in LISTS}, args.repeat
        )
        slowest = max(LISTS, key=lambda n: firsts[n].median)
        first = firsts[slowest].median
        row(f"first page of 50, slowest list ({slowest})", first, None, "<= 15 ms", first <= 15)
        views = interleave(
            {n: samples_ms(lambda n=n: fresh_service().list_view(n, limit=PAGE)) for n in LISTS}, args.repeat
        )
        slowest = max(LISTS, key=lambda n: views[n].median)
        view = views[slowest].median
        row(f"first page of a list view ({slowest})", view, None, "<= 15 ms", view <= 15)
    print("BENCH_JSON " + json.dumps({"rows": rows}))


if __name__ == "__main__":
    main()
