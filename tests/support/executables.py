"""Console scripts of this project as the environment running the tests installed them.

Tests never name a virtualenv path: the suite may run from ``.venv``, a CI image, or any environment where
``pip install -e .[dev]`` put the scripts next to the interpreter.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path


def installed_script(name: str) -> Path:
    """The ``name`` console script beside the running interpreter, else the first one on ``PATH``."""
    search = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    found = shutil.which(name, path=search)
    if found is None:
        raise RuntimeError(f"{name!r} is not installed in this environment: run `pip install -e .[dev]` first")
    return Path(found)
