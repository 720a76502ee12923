"""``.ci/run`` gates on what ``scripts/check.sh`` checks: a lint, layering or type error fails the run.

Each test copies the repository, plants one defect and runs ``scripts/static-checks.sh`` (the static half of
``scripts/check.sh``, which ``.ci/run`` calls) with the tools of the environment running the tests.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
CHECK_TIMEOUT_SECONDS = 600
COPIED = ["auth", "mcp_server", "tools", "tui", "tests", "benchmarks", "scripts", ".ci", "pyproject.toml"]


def copy_of_the_repository(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    root.mkdir()
    ignore = shutil.ignore_patterns("__pycache__", ".mypy_cache", ".ruff_cache", ".pytest_cache", "*.pyc")
    for name in COPIED:
        source = REPO_ROOT / name
        if source.is_dir():
            shutil.copytree(source, root / name, ignore=ignore)
        else:
            shutil.copy2(source, root / name)
    return root


def run_static_checks(root: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])}
    env.pop("PYTHONPATH", None)
    return subprocess.run(
        [str(root / "scripts" / "static-checks.sh")],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=CHECK_TIMEOUT_SECONDS,
        check=False,
    )


def plant(root: Path, relative: str, text: str) -> None:
    path = root / relative
    path.write_text(path.read_text(encoding="utf-8") + text, encoding="utf-8")


def test_ci_runs_the_static_checks_and_then_the_test_command() -> None:
    ci = (REPO_ROOT / ".ci" / "run").read_text(encoding="utf-8")
    check = (REPO_ROOT / "scripts" / "check.sh").read_text(encoding="utf-8")
    assert ci.rstrip().endswith("exec scripts/check.sh")
    assert "scripts/static-checks.sh" in check
    assert check.rstrip().endswith('exec scripts/test.sh "$@"')


def test_a_lint_error_fails_the_checks_before_the_type_check(tmp_path: Path) -> None:
    root = copy_of_the_repository(tmp_path)
    plant(root, "auth/ratelimit.py", "\n\ndef _unused() -> None:\n    value = 1\n")

    done = run_static_checks(root)

    assert done.returncode != 0, done.stdout
    assert "F841" in done.stdout
    assert "==> types" not in done.stdout


def test_a_forbidden_import_fails_the_layering_check(tmp_path: Path) -> None:
    root = copy_of_the_repository(tmp_path)
    plant(root, "auth/ratelimit.py", "\n\nimport textual  # noqa: E402, F401\n")

    done = run_static_checks(root)

    assert done.returncode != 0, done.stdout
    assert "==> layering" in done.stdout
    assert "BROKEN" in done.stdout
    assert "==> types" not in done.stdout


@pytest.mark.heavy
def test_a_type_error_fails_the_checks(tmp_path: Path) -> None:
    root = copy_of_the_repository(tmp_path)
    plant(root, "auth/ratelimit.py", '\n\ndef _mistyped() -> int:\n    return "one"\n')

    done = run_static_checks(root)

    assert done.returncode != 0, done.stdout
    assert "auth/ratelimit.py" in done.stdout and "error: Incompatible return value type" in done.stdout
