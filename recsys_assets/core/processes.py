"""Whether a process still runs: what the sweeps of killed writers' leftovers (temporary files, fit folders) ask."""

from __future__ import annotations

import os


def process_alive(pid: int) -> bool:
    """True while process `pid` exists (a zombie counts), also when it belongs to another user."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process: alive, and not ours to sweep
        return True
    return True
