"""The macOS workflow is ready for the first push to a hosting service: it runs the README's test command on
hosted macOS runners with gpg from Homebrew and Node (the Things opener script test)."""

from __future__ import annotations

from pathlib import Path

import yaml

WORKFLOW = Path(__file__).resolve().parents[1] / ".github" / "workflows" / "macos.yml"


def test_the_macos_workflow_runs_the_readme_test_command_on_macos_with_gpg_and_node() -> None:
    workflow = yaml.safe_load(WORKFLOW.read_text())
    job = workflow["jobs"]["test"]
    assert all(os_name.startswith("macos-") for os_name in job["strategy"]["matrix"]["os"])
    assert "3.11" in job["strategy"]["matrix"]["python"]
    runs = "\n".join(step.get("run", "") for step in job["steps"])
    uses = {step.get("uses", "").split("@")[0] for step in job["steps"]}
    assert "brew install gnupg" in runs
    assert "scripts/test.sh" in runs
    assert {"actions/checkout", "actions/setup-python", "actions/setup-node"} <= uses
    readme = (WORKFLOW.parents[2] / "README.md").read_text()
    assert "scripts/test.sh" in readme
