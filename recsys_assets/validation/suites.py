"""Where the expectation suites live and how they are read (GX 1.x ExpectationSuite JSON, one file per asset)."""

from __future__ import annotations

import json
import os
from pathlib import Path

SUITES_ENV = "RECSYS_EXPECTATIONS_DIR"
GATED_ASSETS = ("raw_orders", "products", "customers", "business_rules", "interactions", "recommendations")


class SuiteError(ValueError):
    """A suite file is missing or is not valid JSON; the message names the file."""


def expectations_dir() -> Path:
    """The folder of suite files: `RECSYS_EXPECTATIONS_DIR`, else the repository's `expectations/`."""
    configured = os.environ.get(SUITES_ENV)
    return Path(configured).resolve() if configured else Path(__file__).resolve().parents[2] / "expectations"


def suite_path(asset: str) -> Path:
    return expectations_dir() / f"{asset}.json"


def load_suite_json(asset: str) -> dict:
    """The suite of `asset` as a dict, read from disk at every call (edits apply to the next run)."""
    path = suite_path(asset)
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError as error:
        raise SuiteError(f"no expectation suite for asset '{asset}': {path} does not exist") from error
    except json.JSONDecodeError as error:
        raise SuiteError(f"expectation suite {path} is not valid JSON: {error}") from error
    if not isinstance(data, dict) or not isinstance(data.get("expectations"), list):
        raise SuiteError(f"expectation suite {path} must be an object with an 'expectations' list")
    return data


def suite_parameters(suite: dict) -> set[str]:
    """Names of the run-time parameters (`{"$PARAMETER": name}`) the suite's expectations use."""
    names: set[str] = set()

    def visit(value) -> None:
        if isinstance(value, dict):
            if set(value) == {"$PARAMETER"}:
                names.add(str(value["$PARAMETER"]))
            else:
                for item in value.values():
                    visit(item)
        elif isinstance(value, list):
            for item in value:
                visit(item)

    for expectation in suite["expectations"]:
        visit(expectation.get("kwargs", {}))
    return names
