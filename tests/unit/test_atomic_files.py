"""Files written whole or not at all, and the temporary files of killed writers swept by the next write."""

from __future__ import annotations

import os
import subprocess
import sys

from recsys_assets.core.stores.files import sweep_temporary_files, write_atomically


def test_a_dead_writer_s_temporary_file_is_swept_and_a_living_one_s_kept(tmp_path):
    target = tmp_path / "value.pkl"
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead = tmp_path / f".value.pkl.{int(gone.stdout)}.abc123.tmp"  # a writer killed before its rename
    living = tmp_path / f".value.pkl.{os.getpid()}.def456.tmp"  # a writer of this process, still writing
    other = tmp_path / f".other.pkl.{int(gone.stdout)}.abc123.tmp"  # another file's: swept when that one is written
    for path in (dead, living, other):
        path.write_bytes(b"half")

    write_atomically(target, b"whole")
    assert target.read_bytes() == b"whole"
    assert not dead.exists() and living.exists() and other.exists()
    assert sweep_temporary_files(tmp_path / "other.pkl") == 1 and not other.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == [living.name, "value.pkl"]
