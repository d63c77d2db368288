"""Every place the code location writes to a file system, each with the reason it is not a dev / prod write to a
pod's disk. A new write site fails here until it is classified: in dev and prod the pods share no disk, so state
written locally would be lost or unseen (the shared stores: Blob storage, Cosmos DB, MLflow, PostgreSQL).

The runtime proof is tests/deploy/test_topology.py: every process of the dev deployment runs on a read-only home.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("recsys_assets", "monitoring")
WRITE_METHODS = {"write_text", "write_bytes", "mkdir", "touch", "save_html", "symlink_to"}
FRAME_WRITES = {"to_parquet", "to_csv", "to_pickle"}  # a write when given a path (to_csv() alone returns the text)
FRAME_PATHS = {"path", "path_or_buf"}
WRITE_FUNCTIONS = {"write_atomically"}
MODULE_WRITES = {"shutil": {"copy", "copy2", "copyfile", "copytree", "move"}, "os": {"replace", "rename", "makedirs"}}

LOCATION = "writes through a location that resources/state_storage.py or serving_log_storage.py picks: Blob in dev/prod"
LOCAL_ONLY = "the local deployment's own file (resources/local.py builds it; dev/prod build the Azure one)"
TEMPORARY = "a temporary folder of one process (tempfile), removed after use"
CLI = "a command a person runs on their machine, writing where they asked"
TOPOLOGY = "the topology harness (make prod-local, the topology test) preparing its processes' homes and logs"

WHY = {
    "monitoring/reports.py:write_report": "a folder locally, else the location it is given (" + LOCATION + ")",
    "recsys_assets/cli/data.py:cmd_export": CLI,
    "recsys_assets/cli/local_run.py:persistent_instance": CLI + " (the local Dagster instance of `recsys demo`)",
    "recsys_assets/core/modeling/fit_worker.py:main": TEMPORARY + " (a candidate's fit result handed back)",
    "recsys_assets/core/modeling/models.py:_fit_round": TEMPORARY + " (a candidate's fit task handed over)",
    "recsys_assets/core/stores/alert_sinks.py:append_alert": LOCAL_ONLY + ": alerts.jsonl",
    "recsys_assets/core/stores/alert_sinks.py:store_alert": LOCATION,
    "recsys_assets/core/stores/erp_csv.py:write_erp_csv": CLI + " (an export in the ERP's CSV dialect)",
    "recsys_assets/core/stores/files.py:write_atomically": "the helper behind the folder implementations below",
    "recsys_assets/core/stores/partition_cache.py:save": LOCATION,
    "recsys_assets/core/stores/serving_log_location.py:append": LOCAL_ONLY + ": FolderLog",
    "recsys_assets/core/stores/source_db.py:open_for_writing": LOCAL_ONLY + ": the SQLite source file",
    "recsys_assets/core/stores/state_location.py:write_bytes": LOCAL_ONLY + ": FolderState",
    "recsys_assets/core/stores/store.py:_connect": LOCAL_ONLY + ": the embedded SQLite store",
    "recsys_assets/core/stores/store.py:_reader": LOCAL_ONLY + ": the embedded SQLite store",
    "recsys_assets/resources/io_managers.py:write": LOCAL_ONLY + ": the local IO manager (dev/prod: Blob storage)",
    "recsys_assets/core/stores/mlflow_registry.py:_log_text": TEMPORARY + " (an artifact handed to MLflow)",
    **{
        f"recsys_assets/core/stores/model_registry.py:{name}": "the registry folder of older releases: only read, "
        "once, to import it into MLflow (mlflow_registry.import_folder_registry)"
        for name in ("save", "save_history", "save_list_settings")
    },
    "recsys_assets/watch/inputs.py:reference_data": LOCATION,
    "recsys_assets/watch/online.py:write_day_file": LOCATION,
    **{
        f"recsys_assets/topology/{site}": TOPOLOGY
        for site in (
            "emulators.py:start_azurite",
            "postgres.py:_started",
            "processes.py:new_home",
            "processes.py:start",
            "stack.py:dagster_home",
            "stack.py:start_stores",
        )
    },
}


def _writes(call: ast.Call) -> bool:
    func = call.func
    if isinstance(func, ast.Name):
        return func.id in WRITE_FUNCTIONS or (func.id == "open" and _write_mode(call))
    if not isinstance(func, ast.Attribute):
        return False
    owner = getattr(func.value, "id", "")
    return (
        func.attr in WRITE_METHODS
        or (func.attr in FRAME_WRITES and (bool(call.args) or any(k.arg in FRAME_PATHS for k in call.keywords)))
        or func.attr in WRITE_FUNCTIONS
        or func.attr in MODULE_WRITES.get(owner, ())
        or (func.attr == "connect" and owner == "sqlite3")
        or (func.attr == "open" and _write_mode(call))
    )


def _write_mode(call: ast.Call) -> bool:
    mode = call.args[1] if len(call.args) > 1 else next((k.value for k in call.keywords if k.arg == "mode"), None)
    if isinstance(call.func, ast.Attribute) and call.args and not isinstance(call.args[0], ast.Constant):
        mode = call.args[0] if len(call.args) == 1 else mode  # Path.open(mode)
    return isinstance(mode, ast.Constant) and isinstance(mode.value, str) and any(c in mode.value for c in "wax+")


def write_sites() -> set[str]:
    """`file:function` of every call that writes to a file system, in the code location's packages."""
    sites = set()
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            for function in ast.walk(tree):
                if not isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
                    continue
                inner = {n for child in function.body if isinstance(child, ast.FunctionDef) for n in ast.walk(child)}
                if any(isinstance(n, ast.Call) and _writes(n) and n not in inner for n in ast.walk(function)):
                    sites.add(f"{path.relative_to(ROOT).as_posix()}:{function.name}")
    return sites


def test_every_local_write_is_classified_and_none_is_a_dev_or_prod_state_write():
    sites = write_sites()
    unclassified = sorted(sites - WHY.keys())
    where = "where does their state live in dev/prod?"
    assert not unclassified, f"classify these writes in {Path(__file__).name} ({where}): {unclassified}"
    gone = sorted(WHY.keys() - sites)
    assert not gone, f"these writes are gone: remove them from WHY: {gone}"


def test_the_scan_sees_a_write():
    """The scan itself: a write of each kind is found (else the test above could pass on nothing)."""
    source = (
        "def a(p):\n    p.write_text('x')\n"
        "def b(p):\n    open(p, 'a').write('x')\n"
        "def c(p):\n    shutil.copy(p, p)\n"
        "def d(p):\n    write_atomically(p, b'')\n"
        "def e(p):\n    open(p).read()\n"
        "def f(frame):\n    return frame.to_csv(index=False)\n"
        "def g(frame, p):\n    frame.to_parquet(p)\n"
    )
    tree = ast.parse(source)
    found = {f.name for f in tree.body if any(isinstance(n, ast.Call) and _writes(n) for n in ast.walk(f))}
    assert found == {"a", "b", "c", "d", "g"}
