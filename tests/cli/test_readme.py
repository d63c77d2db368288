"""The commands of the README, the tutorial and the how-to guides, in the order a reader meets them, in one fresh
data folder: the README, then the tutorial (a reader who ran the README's `make demo` does not run it again), then
the how-to guides in the site's order.

Every command of every ```bash block of those pages is either run — as written, with only these substitutions so
that the test stays bounded and cannot collide with servers already on this machine — or listed in NOT_RUN with the
reason and the test that covers it instead. A new command that is neither fails this test; so does a how-to page
with commands that is not walked (HOW_TO_NOT_WALKED says why a page is left out).

Substitutions: RECSYS_DEMO_SCALE=small (the demos on 800 customers); `recsys generate`'s scale flags → small ones (a
realistic history: 300 customers over 90 days); free loopback ports instead of 3000 / 8000 / 8001 (`UI_PORT`,
`--port`, `MONITOR_UI_PORT`, and the URLs); `--duration 2` for the load test; the example files `orders.csv` etc. →
files the test writes, and the folder `my-erp-export` → one in the test's folder; the optional `[...]` flags are
used, except `--append` (it would mix the example files into the data they replace); the dates of `recsys
materialize --start … --end …` → the last week of the data. Long-running commands (`make ui`, `recsys serve`, `make
monitor-ui`) are started in the background, checked over HTTP, and stopped by PID (a reader presses Ctrl-C); `recsys
serve` stays up for the commands that use it, until the next page starts it again.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import shlex
import signal
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from recsys_assets.core.data.generator import GeneratorConfig, generate
from tests.support.dagster_processes import READY_QUERY, ROOT, free_port

pytestmark = pytest.mark.slow

README = ROOT / "README.md"
TUTORIAL = ROOT / "docs" / "tutorial.md"
HOW_TO = [  # in the site's order (mkdocs.yml)
    ROOT / "docs" / "how-to" / name
    for name in (
        "import-your-orders.md",
        "serve-and-review.md",
        "fresh-lists.md",
        "review-drift.md",
        "run-a-backfill.md",
        "add-a-business-rule.md",
        "operate.md",
        "deploy-azure-aks.md",
    )
]
HOW_TO_NOT_WALKED = {
    "run-production-locally.md": "its one command, `make prod-local`, runs until Ctrl-C: "
    "tests/deploy/test_prod_local.py runs it as written, checks every UI it prints and stops it with Ctrl-C",
    "develop.md": "commands for contributors (make test, make lint, make format): the test suite and CI run them",
}
NOT_RUN = {
    r"^make test\b": "the test suite itself",
    r"benchmarks/": "a benchmark, run by hand (results in benchmarks/RESULTS.md)",
    r"^recsys trigger\b": "needs a webserver with a run coordinator and daemon: tests/cli/test_trigger_http.py",
    r"^curl -s http://127\.0\.0\.1:3000/graphql": "the same GraphQL calls: tests/cli/test_trigger_http.py",
    # a minute of the suite's budget: its only command, `recsys demo-drift`, runs there with the checks of its output
    r"^make demo-drift$": "tests/cli/test_demos.py::test_demo_drift_fires_and_retrains",
    # the example reads a shop's own exports (bestand.csv, aktionen.csv), which the walkthrough does not have
    r"^recsys import-rules\b": "tests/cli/test_import_rules.py (ERP-style rule files)",
}
SMALL_GENERATE = {"--customers": "300", "--products": "300", "--days": "30", "--lines-per-day": "200"}
SMALL_REALISTIC = {"--customers": "300", "--days": "90"}  # a quarter: closed weekends and sparse customers still show


def without_comment(line: str) -> str:
    """`line` without a trailing `# comment` (a # outside quotes, after whitespace)."""
    quote = None
    for i, char in enumerate(line):
        if quote:
            quote = None if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char == "#" and (i == 0 or line[i - 1].isspace()):
            return line[:i].rstrip()
    return line.rstrip()


def page_commands(page: Path = README) -> list[str]:
    """Every shell command of the page's bash blocks, as written, in order (continuation lines and multi-line
    quotes joined, trailing comments removed)."""
    commands = []
    for block in re.findall(r"```bash\n(.*?)```", page.read_text(encoding="utf-8"), re.S):
        pending = ""
        for line in block.splitlines():
            pending = f"{pending}\n{line}" if pending else line
            if pending.rstrip().endswith("\\"):
                continue
            try:
                shlex.split(pending, comments=True)
            except ValueError:  # an open quote: the command goes on on the next line
                continue
            command = "\n".join(without_comment(part) for part in pending.splitlines()).strip()
            if command:
                commands.append(command.replace("\\\n", " "))
            pending = ""
    return commands


class Walkthrough:
    """Runs the commands with one environment (a fresh data folder), remembering `export`s and servers."""

    def __init__(self, home: Path, files: Path, logs: Path):
        self.env = {**os.environ, "RECSYS_HOME": str(home), "DAGSTER_HOME": str(home / "dagster"),
                    "RECSYS_DEMO_SCALE": "small", "DO_NOT_TRACK": "1"}  # fmt: skip
        for name in (
            "RECSYS_SOURCE_URL",
            "RECSYS_DEPLOYMENT",
            "RECSYS_API_KEY",
            "RECSYS_REVIEW_KEY",
            "RECSYS_ORDERS_KEY",
            "MAKEFLAGS",
            "MAKELEVEL",
        ):
            self.env.pop(name, None)
        self.files, self.logs = files, logs
        self.ports = {"3000": str(free_port()), "8000": str(free_port()), "8001": str(free_port())}
        self.servers: list[subprocess.Popen] = []
        self.ran: list[str] = []

    def substitute(self, command: str) -> str:
        for port, free in self.ports.items():
            command = command.replace(f"127.0.0.1:{port}", f"127.0.0.1:{free}")
        for name in ("orders.csv", "products.csv", "customers.csv"):
            command = re.sub(rf"(?<![\w/-]){re.escape(name)}", str(self.files / name), command)
        command = re.sub(r"(?<![\w/])my-erp-export", str(self.files / "my-erp-export"), command)
        if command.startswith(".venv/bin/recsys materialize --start"):
            yesterday = dt.date.today() - dt.timedelta(days=1)  # the demos' data ends yesterday
            week = f"--start {yesterday - dt.timedelta(days=6)} --end {yesterday}"
            command = re.sub(r"--start \S+ --end \S+", week, command)
        if command.startswith((".venv/bin/recsys import-orders", ".venv/bin/recsys generate")):
            command = command.replace("[--append]", "").replace("[", "").replace("]", "")
        if command.startswith(".venv/bin/recsys generate"):
            small = SMALL_REALISTIC if "--realistic" in command else SMALL_GENERATE
            for flag, value in small.items():
                command = re.sub(rf"{flag} \d+", f"{flag} {value}", command)
        if "recsys load-test" in command:
            command = re.sub(r"--duration \d+", "--duration 2", command)
        return command

    def run(self, command: str, timeout: float = 300) -> str:
        result = subprocess.run(["bash", "-c", command], cwd=ROOT, env=self.env, capture_output=True, text=True,
                                timeout=timeout)  # fmt: skip
        assert result.returncode == 0, (
            f"documented command failed: {command}\n{result.stdout[-3000:]}{result.stderr[-3000:]}"
        )
        self.ran.append(command)
        return result.stdout

    def background(self, command: str, name: str) -> subprocess.Popen:
        log = (self.logs / f"{name}.log").open("w")
        process = subprocess.Popen(["bash", "-c", f"exec {command}"], cwd=ROOT, env=self.env, stdout=log,
                                   stderr=subprocess.STDOUT, start_new_session=True)  # fmt: skip
        log.close()
        self.servers.append(process)
        self.ran.append(command)
        return process

    def wait_for(self, process, name: str, check, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert process.poll() is None, f"{name} exited: {(self.logs / f'{name}.log').read_text()[-3000:]}"
            try:
                if check():
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        raise TimeoutError(f"{name} did not answer in {timeout}s: {(self.logs / f'{name}.log').read_text()[-3000:]}")

    @staticmethod
    def stop(process: subprocess.Popen) -> None:
        """What Ctrl-C does: SIGINT to the process group; SIGKILL if it does not end."""
        if process.poll() is None:
            for sig, wait in ((signal.SIGINT, 20), (signal.SIGTERM, 10), (signal.SIGKILL, 10)):
                try:
                    os.killpg(process.pid, sig)
                    process.wait(timeout=wait)
                    break
                except subprocess.TimeoutExpired:
                    continue
                except ProcessLookupError:
                    break

    def stop_all(self) -> None:
        for process in self.servers:
            self.stop(process)


def example_files(folder: Path) -> None:
    """orders.csv, products.csv, customers.csv as a user would export them (a small generated shop)."""
    data = generate(GeneratorConfig(customers=300, products=200, days=40, lines_per_day=250, seed=4))
    data.orders.to_csv(folder / "orders.csv", index=False)
    data.products.to_csv(folder / "products.csv", index=False)
    data.customers.to_csv(folder / "customers.csv", index=False)


def walked_pages() -> list[Path]:
    """The README, the tutorial, then the how-to guides; every how-to page with commands is walked or excused."""
    with_commands = {page.name for page in (ROOT / "docs" / "how-to").glob("*.md") if page_commands(page)}
    unwalked = with_commands - {page.name for page in HOW_TO} - set(HOW_TO_NOT_WALKED)
    assert not unwalked, f"how-to pages with commands that no test runs: {sorted(unwalked)}"
    return [README, TUTORIAL, *HOW_TO]


def test_readme_commands_work_in_reading_order(tmp_path):
    pages = walked_pages()
    assert page_commands(README)[:2] == ["make demo", "make test"]
    assert "recsys import-orders" in " ".join(page_commands(TUTORIAL))
    files, logs = tmp_path / "files", tmp_path / "logs"
    files.mkdir(), logs.mkdir()
    example_files(files)
    walk = Walkthrough(tmp_path / "home", files, logs)
    skipped, repeated = [], []
    server = None
    try:
        for page in pages:
            for original in page_commands(page):
                reason = next((why for pattern, why in NOT_RUN.items() if re.search(pattern, original)), None)
                if reason:
                    skipped.append(original)
                    continue
                if original == "make demo" and "make demo" in walk.ran:
                    repeated.append(original)  # the tutorial's first step, already run from the README
                    continue
                command = walk.substitute(original)
                if command.startswith("make ui"):
                    ui = walk.background(f"make ui UI_PORT={walk.ports['3000']}", "make-ui")
                    url = f"http://127.0.0.1:{walk.ports['3000']}/graphql"
                    walk.wait_for(
                        ui, "make-ui", lambda u=url: "recsys" in httpx.post(u, json={"query": READY_QUERY}).text
                    )
                    walk.stop(ui)  # the daemon's sensors would otherwise act on the next commands' runs
                elif command.startswith("make monitor-ui"):
                    monitor = walk.background(f"make monitor-ui MONITOR_UI_PORT={walk.ports['8001']}", "monitor-ui")
                    url = f"http://127.0.0.1:{walk.ports['8001']}/api/projects"
                    walk.wait_for(monitor, "monitor-ui", lambda u=url: "recsys" in httpx.get(u).text)
                    walk.stop(monitor)
                elif command.startswith(".venv/bin/recsys serve"):
                    if server is not None:
                        walk.stop(server)  # the reader stopped the previous page's server (Ctrl-C)
                    server = walk.background(f"{command} --port {walk.ports['8000']}", "serve")
                    health = f"http://127.0.0.1:{walk.ports['8000']}/health"
                    walk.wait_for(server, "serve", lambda u=health: httpx.get(u).status_code == 200)
                elif command.startswith("export "):
                    name, _, value = command.removeprefix("export ").partition("=")
                    walk.env[name] = walk.run(f"echo {value}").strip()
                else:
                    out = walk.run(command)
                    if command.startswith("curl") and "/recommendations/" in command:
                        answer = json.loads(out)
                        if "list=buy_again" in command:  # the products the customer bought: at most k of them
                            assert answer["list"] == "buy_again" and len(answer["items"]) <= 5, out
                        else:
                            assert len(answer["items"]) == 5, out
                    if command.startswith("curl") and "/events/orders" in command:  # recorded and folded in
                        answer = json.loads(out)
                        assert answer["recorded_lines"] == 1 and answer["folded"] is True, out
                    if command.startswith("curl") and "/related" in command:  # the example product may be inactive
                        answer = json.loads(out)
                        assert answer.get("kind") == "bought_together" or answer["error"] == "not_found", out
                    if command == "make demo":  # the README's first command: the metrics, their intervals, the store
                        assert "customers evaluated" in out and "(95% interval)" in out and "=> " in out, out
                        assert f"recommendation store: {walk.env['RECSYS_HOME']}/store.sqlite" in out, out
                    if command == ".venv/bin/recsys models":  # after demo-online: the online figures per version
                        assert re.search(r"\d{4}-\d\d-\d\d\.\.\d{4}-\d\d-\d\d +\d+ +\d+\.\d\d%", out), out
        ran = " | ".join(walk.ran)
        for expected in ("make demo", "make ui", "recsys generate --realistic", "recsys export-orders",
                         "recsys import-orders", "recsys profile", "recsys materialize", "recsys materialize --start",
                         "recsys generate", "recsys serve", "recsys load-test", "make monitor-ui",
                         "make demo-online", "recsys models"):  # fmt: skip
            assert expected in ran, f"{expected!r} was not run: {ran}"
        assert repeated == ["make demo"], repeated
        assert len(skipped) == 8, skipped  # make test, 3 trigger + 2 GraphQL examples, demo-drift, import-rules
    finally:
        walk.stop_all()
