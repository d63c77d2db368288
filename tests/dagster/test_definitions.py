"""The code location loads the way `dagster dev` loads it: from workspace.yaml."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_definitions_validate_from_workspace(recsys_home):
    dagster = Path(sys.executable).parent / "dagster"
    result = subprocess.run(
        [str(dagster), "definitions", "validate", "-w", str(ROOT / "workspace.yaml")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Validation successful" in result.stdout + result.stderr


def test_graph_has_the_designed_assets():
    from recsys_assets.definitions import defs

    keys = {key.to_user_string() for key in defs.resolve_asset_graph().get_all_asset_keys()}
    assert {
        "raw_orders",
        "products",
        "customers",
        "interactions",
        "train_test_split",
        "als_model",
        "model_metrics",
        "recommendations",
        "published_recommendations",
    } <= keys
