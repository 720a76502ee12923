"""Time from a fresh clone to the demo's instructions, as a new user meets it (issue 17's 30 s target).

Clones the repository, hides uv from PATH, points every cache (uv, pip, the uv bootstrap) at empty folders,
runs ``scripts/demo.sh`` and stops it once it prints its last instruction line. The baseline measured in the
same run is ``python -m venv`` of an empty environment (what any Python setup pays at least).

    python -m benchmarks.setup_time [REPO]   # REPO defaults to this checkout
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

READY_LINE = "Ctrl-C stops the demo"
TIMEOUT_SECONDS = 300


def _path_without_uv() -> str:
    kept = [d for d in os.environ.get("PATH", "").split(os.pathsep) if d and not (Path(d) / "uv").exists()]
    return os.pathsep.join(kept)


def main() -> int:
    repo = Path(sys.argv[1] if len(sys.argv) > 1 else Path(__file__).resolve().parents[1])
    work = Path(tempfile.mkdtemp(prefix="aa-setup-"))
    try:
        started = time.monotonic()
        subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(work / "baseline")], check=True)
        baseline = time.monotonic() - started

        env = {
            **os.environ,
            "PATH": _path_without_uv(),
            "XDG_CACHE_HOME": str(work / "cache"),
            "UV_CACHE_DIR": str(work / "cache" / "uv"),
            "PIP_NO_CACHE_DIR": "1",
        }
        env.pop("VIRTUAL_ENV", None)
        started = time.monotonic()
        subprocess.run(["git", "clone", "--quiet", str(repo), str(work / "clone")], check=True)
        proc = subprocess.Popen(
            ["scripts/demo.sh", "--port", "0", "--home", str(work / "home")],
            cwd=work / "clone",
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        assert proc.stderr is not None
        elapsed = None
        for line in proc.stderr:
            if line.startswith("==>"):
                print(f"  {time.monotonic() - started:5.1f} s  {line.rstrip()}")
            if READY_LINE in line:
                elapsed = time.monotonic() - started
                break
            if time.monotonic() - started > TIMEOUT_SECONDS:
                break
        os.killpg(proc.pid, signal.SIGINT)
        proc.wait(timeout=30)
        if elapsed is None:
            print("the demo never printed its instructions")
            return 1
        print(f"fresh clone -> demo instructions: {elapsed:.1f} s (target <= 30 s)")
        print(f"baseline python -m venv (same run): {baseline:.2f} s; ratio {elapsed / baseline:.0f}x")
        return 0 if elapsed <= 30 else 1
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
