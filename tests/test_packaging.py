"""The generic top-level names this project uses must resolve to this repository, and the wheel ships them."""

from __future__ import annotations

import importlib
import tomllib
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
TOP_LEVEL_PACKAGES = ["auth", "mcp_server", "tools", "tui"]


@pytest.mark.parametrize("name", TOP_LEVEL_PACKAGES)
def test_generic_top_level_name_resolves_to_this_repository(name: str) -> None:
    """``auth`` or ``tools`` from another installed distribution would shadow (or be shadowed by) ours."""
    module = importlib.import_module(name)
    assert module.__file__ is not None, f"{name} is a namespace package, not this project's package"
    assert Path(module.__file__).resolve() == REPO_ROOT / name / "__init__.py"
    assert [Path(p).resolve() for p in module.__path__] == [REPO_ROOT / name]


@pytest.mark.parametrize("name", ["tools.things", "tools.gpg"])
def test_tool_subpackages_resolve_to_this_repository(name: str) -> None:
    module = importlib.import_module(name)
    assert module.__file__ is not None
    assert Path(module.__file__).resolve().parent == REPO_ROOT.joinpath(*name.split("."))


def test_the_wheel_lists_exactly_the_top_level_packages() -> None:
    pyproject = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    packages = pyproject["tool"]["hatch"]["build"]["targets"]["wheel"]["packages"]
    assert sorted(packages) == TOP_LEVEL_PACKAGES
    for package in packages:
        assert (REPO_ROOT / package / "__init__.py").is_file()
    assert "tests" not in packages


def test_the_console_script_points_at_the_cli_entry_point() -> None:
    pyproject = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert pyproject["project"]["scripts"]["agent-auth"] == "mcp_server.cli.entry:main"
    from mcp_server.cli.entry import main

    assert callable(main)


def _requirement(text: str) -> tuple[str, str]:
    name = text
    for i, char in enumerate(text):
        if char in "<>=!~;[ ":
            name = text[:i]
            break
    rest = text[len(name) :].split(";")[0].strip()
    if rest.startswith("["):
        rest = rest[rest.index("]") + 1 :].strip()
    return name.lower().replace("_", "-"), rest.replace(" ", "")


def test_uv_lock_matches_the_dependencies_in_pyproject() -> None:
    """scripts/ install with `uv sync --locked`: a dependency added without `uv lock` breaks every setup."""
    pyproject = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    lock = tomllib.loads((REPO_ROOT / "uv.lock").read_text(encoding="utf-8"))
    wanted = {_requirement(r) for r in pyproject["project"]["dependencies"]}
    for extra in pyproject["project"]["optional-dependencies"].values():
        wanted |= {_requirement(r) for r in extra}
    (ours,) = [p for p in lock["package"] if p["name"] == "agent-auth"]
    locked = {(r["name"].lower(), r.get("specifier", "").replace(" ", "")) for r in ours["metadata"]["requires-dist"]}
    assert wanted == locked, "run `uv lock` (scripts/_env.sh prints the path of its uv) and commit uv.lock"
