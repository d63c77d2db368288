"""Files that are whole or absent: written under a temporary name in the same folder, then renamed."""

from __future__ import annotations

import glob
import os
import tempfile
from pathlib import Path

from ..faults import failpoint
from ..processes import process_alive


def write_atomically(path: str | Path, data: bytes) -> Path:
    """Write `data` to `path` so that a reader (or the next run after a kill) sees the old file or the new one,
    never half of it: a temporary file in the same folder, then renamed over `path`. (No fsync: a killed process
    loses nothing the kernel already holds; surviving a power cut is the disk's and the filesystem's job.)"""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    sweep_temporary_files(path)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.{os.getpid()}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
        failpoint("files.before_rename")  # the new content is written, not yet in place
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return path


def sweep_temporary_files(path: str | Path) -> int:
    """Remove the temporary files that killed writers of `path` left (named `.<name>.<pid>.<random>.tmp`; a
    killed process cannot remove its own), keeping those of writers still running. Returns how many went."""
    path = Path(path)
    removed = 0
    for temporary in path.parent.glob(f".{glob.escape(path.name)}.*.tmp"):
        owner = temporary.name[len(path.name) + 2 :].split(".", 1)[0]
        if owner.isdigit() and not process_alive(int(owner)):
            temporary.unlink(missing_ok=True)
            removed += 1
    return removed
