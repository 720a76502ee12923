"""Scores of a finished mutmut run, per auth module (called by scripts/mutation.sh; run from the repository root).

A surviving mutant that only changes the human text of a message (an exception's message argument, or a log
line's text or arguments: the log is diagnostics for an operator, not the audit record; never a code, which is a
class attribute, nor a ``detail``, which the audit record keeps) is
reported as "message-only" and counted as equivalent in the adjusted score; every other survivor is listed.
A mutant that no test reaches ("no tests") is a survivor: nothing would notice it. Survivors shown equivalent
(scripts/mutation_equivalents.py, each with its reason) are also counted apart in the adjusted score.

``--survivors MODULE`` prints the names of the last run's survivors of one module (for ``mutation.sh --survivors``).
"""

from __future__ import annotations

import ast
import json
import sys
from pathlib import Path

from mutation_equivalents import equivalent_reason
from mutmut.configuration import config
from mutmut.mutation.diff_apply import get_diff_for_mutant
from mutmut.stats import status_by_exit_code

KILLED = {"killed", "timeout", "caught by type check"}
NOT_RUN = {"skipped", "not checked"}
MESSAGE_CALLS = ("Error(", "log.", "warnings.warn(")


def _message_context(diff: str) -> bool:
    """The hunk's context shows the bare string is an argument of an exception or a log call."""
    context = [line for line in diff.splitlines() if line.startswith(" ")]
    return any(call in line for line in context for call in MESSAGE_CALLS)


def _changed_lines(diff: str) -> tuple[list[str], list[str]]:
    body = [line for line in diff.splitlines() if not line.startswith(("---", "+++", "@@"))]
    return [line[1:] for line in body if line.startswith("-")], [line[1:] for line in body if line.startswith("+")]


def _call_name(node: ast.Call) -> str:
    return ast.unparse(node.func)


def _is_text(node: ast.expr) -> bool:
    return isinstance(node, ast.JoinedStr) or (
        isinstance(node, ast.Constant) and (node.value is None or isinstance(node.value, str))
    )


def _without_messages(line: str) -> str:
    """The line with the message of each exception and the text of each log call blanked."""
    try:
        text = line.strip().rstrip(",").removeprefix("raise ").removeprefix("return ").removesuffix(" from None")
        tree = ast.parse(text, mode="eval")
    except SyntaxError:
        return line
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        name = _call_name(node)
        if name.endswith(("Error", "Exception")) and node.args and _is_text(node.args[0]):
            node.args[0] = ast.Constant("")
        elif name.startswith("log."):
            # A log line is text for an operator, its %-arguments included: it decides nothing and is no record.
            node.args = []
        elif name.startswith("warnings."):
            node.args = [ast.Constant("") if _is_text(arg) else arg for arg in node.args]
    return ast.dump(tree)


def _is_bare_text(line: str) -> bool:
    """A line that is nothing but a string (a message continued from the line above) or ``None``."""
    try:
        node = ast.parse(line.strip().rstrip(","), mode="eval").body
    except SyntaxError:
        return False
    return _is_text(node)


def is_message_only(diff: str) -> bool:
    removed, added = _changed_lines(diff)
    if not removed or len(removed) != len(added):
        return False
    for old, new in zip(removed, added, strict=True):
        if _is_bare_text(old) and _is_bare_text(new) and _message_context(diff):
            continue
        if not any(call in old for call in MESSAGE_CALLS):
            return False
        if _without_messages(old) != _without_messages(new):
            return False
    return True


def _statuses(module: str) -> dict[str, str] | None:
    meta = Path("mutants") / "auth" / f"{module}.py.meta"
    if not meta.exists():
        return None
    codes = json.loads(meta.read_text(encoding="utf-8"))["exit_code_by_key"]
    return {name: status_by_exit_code[code] for name, code in codes.items()}


def survivors(module: str) -> int:
    """Print one survivor name a line (nothing when the module has not been run)."""
    statuses = _statuses(module) or {}
    for name, status in sorted(statuses.items()):
        if status not in KILLED and status not in NOT_RUN:
            print(name)
    return 0


def main(modules: list[str]) -> int:
    config()
    rows = []
    report = Path("mutants") / "survivors.txt"
    with report.open("w", encoding="utf-8") as out:
        for module in modules:
            statuses = _statuses(module)
            if statuses is None:
                print(f"auth/{module}.py: no results (run scripts/mutation.sh {module})", file=sys.stderr)
                continue
            tested = {n: s for n, s in statuses.items() if s not in NOT_RUN}
            killed = sum(1 for s in tested.values() if s in KILLED)
            survivors = sorted(n for n, s in tested.items() if s not in KILLED)
            message_only = equivalent = 0
            for name in survivors:
                diff = get_diff_for_mutant(name, path=Path("auth") / f"{module}.py")
                reason = equivalent_reason(module, name, *_changed_lines(diff))
                if reason is not None:
                    kind = f"equivalent: {reason}"
                    equivalent += 1
                elif is_message_only(diff):
                    kind = "message-only"
                    message_only += 1
                else:
                    kind = "SURVIVED"
                out.write(f"## {name} [{kind}; {tested[name]}]\n{diff}\n\n")
            total = len(tested)
            survived = len(survivors) - message_only - equivalent
            raw = 100.0 * killed / total if total else 0.0
            counted = total - message_only - equivalent
            adjusted = 100.0 * killed / counted if counted else 100.0
            unreached = sum(1 for s in tested.values() if s == "no tests")
            rows.append((module, total, killed, message_only, equivalent, survived, raw, adjusted, unreached))
    print(
        f"{'module':<11} {'mutants':>7} {'killed':>6} {'msg-only':>8} {'equiv':>5} {'survived':>8} "
        f"{'score':>6} {'adjusted':>8}"
    )
    for module, total, killed, message_only, equivalent, survived, raw, adjusted, unreached in rows:
        note = f"  ({unreached} of the survivors: no test reaches them)" if unreached else ""
        print(
            f"{module:<11} {total:>7} {killed:>6} {message_only:>8} {equivalent:>5} {survived:>8} "
            f"{raw:>5.1f}% {adjusted:>7.1f}%{note}"
        )
    print(f"survivors with their diffs: {report}")
    return 0


if __name__ == "__main__":
    if sys.argv[1:2] == ["--survivors"]:
        raise SystemExit(survivors(sys.argv[2]))
    raise SystemExit(main(sys.argv[1:]))
