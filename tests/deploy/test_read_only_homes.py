"""The homes of the topology's processes (recsys_assets/topology/processes.py) are read-only for real: a process
started as the topology starts its servers cannot write into its home (not even as root), only into its TMPDIR and
the folder it owns. Without this, tests/deploy/test_topology.py could pass while code still wrote state locally."""

from __future__ import annotations

import os
import sys

from recsys_assets.topology.processes import confined, new_home, remove_homes, start

PROBE = """
import os, sys
results = []
for folder in sys.argv[1:]:
    try:
        with open(os.path.join(folder, "state.json"), "w") as handle:
            handle.write("{}")
        results.append("written")
    except PermissionError:
        results.append("refused")
print(" ".join(results))
"""


def test_a_sealed_home_refuses_writes_except_tmpdir_and_the_owned_volume(tmp_path):
    base = tmp_path / "homes"
    home = new_home(base, "probe", owned=("volume",))
    (home.dagster / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    home.seal()
    try:
        log = tmp_path / "probe.log"
        folders = [home.root, home.dagster, home.tmp, home.root / "volume"]
        command = confined([sys.executable, "-c", PROBE, *map(str, folders)])
        process = start(command, log, env={**os.environ, **home.env()}, cwd=home.root)
        assert process.wait(60) == 0, log.read_text()
        assert log.read_text().split() == ["refused", "refused", "written", "written"]
        assert (home.dagster / "dagster.yaml").read_text().startswith("telemetry")  # still readable
    finally:
        remove_homes(base)
    assert not base.exists()
