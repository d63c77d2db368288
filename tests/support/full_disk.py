"""A folder on a full filesystem: a tiny tmpfs filled to the last byte (as root), else a folder whose alert file is
/dev/full (every write fails with "No space left on device", as on a full disk)."""

from __future__ import annotations

import contextlib
import errno
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path


@contextlib.contextmanager
def full_folder(parent: Path) -> Iterator[Path]:
    """A folder in which writing fails with ENOSPC (its `filler` file may be deleted to free the space again)."""
    folder = parent / "full"
    folder.mkdir()
    mounted = (
        subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(folder)], capture_output=True).returncode
        == 0
    )
    try:
        if mounted:
            filler = os.open(folder / "filler", os.O_WRONLY | os.O_CREAT)
            with contextlib.suppress(OSError):
                while True:
                    os.write(filler, b"\0" * 4096)
            os.close(filler)
            _assert_full(folder / "probe")
        else:
            (folder / "alerts.jsonl").symlink_to("/dev/full")
            _assert_full(folder / "alerts.jsonl")
        yield folder
    finally:
        if mounted:
            subprocess.run(["umount", str(folder)], check=False)


def _assert_full(path: Path) -> None:
    try:
        with open(path, "a") as handle:
            handle.write("x")
    except OSError as error:
        assert error.errno == errno.ENOSPC, error
    else:
        raise AssertionError(f"{path} could be written: the filesystem is not full")
    finally:
        if path.name == "probe":
            with contextlib.suppress(OSError):
                os.remove(path)
