"""`make prod-local`, as docs/how-to/run-production-locally.md tells a reader to run it: one command brings the dev
deployment's processes up, prints where each UI answers (each does), and Ctrl-C stops every one of them and removes
their folders. The daily cycle through the same processes: tests/deploy/test_topology.py."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import httpx
import pytest

from recsys_assets.topology.stack import LOCATION
from tests.support.dagster_processes import READY_QUERY, ROOT

pytestmark = [pytest.mark.slow, pytest.mark.emulator, pytest.mark.postgres]

UIS = ("Dagster UI", "API 1 (review page: /)", "API 2 (review page: /)", "Evidently UI", "MLflow UI")


def _printed(output: Path, process: subprocess.Popen, timeout: float = 240) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        text = output.read_text(errors="replace")
        if "Ctrl-C stops." in text:
            return text
        assert process.poll() is None, f"make prod-local exited:\n{text[-4000:]}"
        time.sleep(0.5)
    raise TimeoutError(f"make prod-local printed no UIs in {timeout}s:\n{output.read_text()[-4000:]}")


def _processes_under(folder: str) -> list[str]:
    """Command lines of the running processes that name `folder` (their homes and data live there)."""
    found = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                line = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            except OSError:
                continue
            if folder in line:
                found.append(f"{proc.name}: {line[:200]}")
    return found


def test_make_prod_local_brings_every_ui_up_and_ctrl_c_stops_everything(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RECSYS_", "MAKE", "COSMOS_", "AZURE_"))}
    # where its temporary folders go, so the test sees them removed; traversable by PostgreSQL's own user, which
    # pytest's private temporary folders are not
    temporary = Path(tempfile.mkdtemp(prefix="prod-local-"))
    temporary.chmod(0o755)
    env["TMPDIR"] = str(temporary)
    output = tmp_path / "prod-local.out"
    with output.open("w") as stream:
        process = subprocess.Popen(["make", "prod-local"], cwd=ROOT, env=env, stdout=stream,
                                   stderr=subprocess.STDOUT, start_new_session=True)  # fmt: skip
    try:
        text = _printed(output, process)
        base = re.search(r"starting the dev topology in (\S+)", text).group(1)
        urls = {name: re.search(rf"^  {re.escape(name)}\s+(http://\S+)$", text, re.M).group(1) for name in UIS}
        ready = httpx.post(f"{urls['Dagster UI']}/graphql", json={"query": READY_QUERY}, timeout=30).json()
        nodes = ready["data"]["repositoriesOrError"]["nodes"]
        assert [node["location"]["name"] for node in nodes] == [LOCATION], ready
        for name in ("API 1 (review page: /)", "API 2 (review page: /)"):
            health = httpx.get(f"{urls[name]}/health", timeout=10)  # nothing published yet: 503, said in JSON
            assert health.status_code in (200, 503) and "status" in health.json(), health.text
            assert httpx.get(urls[name], timeout=10).status_code == 200  # the review page
        assert httpx.get(urls["Evidently UI"], timeout=10).status_code == 200
        assert httpx.get(f"{urls['MLflow UI']}/health", timeout=10).text.strip() == "OK"
        assert "serving key: " in text and "review key: " in text
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGINT)  # what Ctrl-C sends to the terminal's foreground group
        try:
            process.wait(timeout=90)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            raise
    assert "stopping every process" in output.read_text()
    deadline = time.monotonic() + 20
    while _processes_under(base) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert not _processes_under(base), _processes_under(base)
    assert not Path(base).exists(), f"{base} was not removed"
    temporary.rmdir()  # nothing else was left in it
