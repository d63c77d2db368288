"""Code version of the running pipeline, recorded with every model."""

from __future__ import annotations

import functools
import os
import subprocess
from pathlib import Path


@functools.cache
def git_commit() -> str:
    """The git commit of this checkout (RECSYS_GIT_COMMIT overrides; 'unknown' outside a checkout)."""
    if os.environ.get("RECSYS_GIT_COMMIT"):
        return os.environ["RECSYS_GIT_COMMIT"]
    try:
        result = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=Path(__file__).resolve().parent,
            capture_output=True,
            text=True,
            timeout=5,
            check=True,
        )
        return result.stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
