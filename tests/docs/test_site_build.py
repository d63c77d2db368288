"""The docs site builds strictly (a broken link or anchor fails `make test`), and its reference pages are generated
from the code: every asset, job, schedule, sensor, configurable node, endpoint and command appears."""

import html
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from dagster import Config, job, op
from pydantic import Field

pytestmark = pytest.mark.slow  # builds the whole site: imports the Definitions

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def mkdocs_build(config: Path, site: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1", "PYTHONPATH": str(ROOT)}
    command = [str(BIN / "mkdocs"), "build", "--strict", "-f", str(config), "-d", str(site)]
    return subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    site = tmp_path_factory.mktemp("site")
    built = mkdocs_build(ROOT / "mkdocs.yml", site)
    assert built.returncode == 0, built.stdout[-4000:] + built.stderr[-4000:]
    return site


def page_text(site: Path, page: str) -> str:
    return html.unescape((site / page / "index.html").read_text(encoding="utf-8"))


def test_the_reference_pages_show_the_definitions(site):
    from recsys_assets.definitions import defs

    graph = defs.resolve_asset_graph()
    assets = page_text(site, "reference/asset-graph")
    for key in graph.materializable_asset_keys:
        assert f'id="asset-{key.to_user_string().replace("_", "-")}"' in assets, key
        for check in graph.get(key).check_keys:
            assert check.name in assets, check
    for asset_job in defs.jobs:
        assert f'id="job-{asset_job.name.replace("_", "-")}"' in assets, asset_job.name

    automation = page_text(site, "reference/automation")
    for schedule in defs.schedules:
        assert f"dagster schedule stop {schedule.name} -w workspace.yaml" in automation
        assert schedule.cron_schedule in automation
    for sensor in defs.sensors:
        assert f"dagster sensor stop {sensor.name} -w workspace.yaml" in automation

    run_config = page_text(site, "reference/run-config")
    model_gate = defs.resolve_job_def("retrain_job").run_config_schema.config_type.fields["ops"].config_type
    for field in model_gate.fields["recommendations_model_gate"].config_type.fields["config"].config_type.fields:
        assert field in run_config, field


def test_the_switch_off_commands_exist(tmp_path):
    """The automation page tells people to run `dagster schedule|sensor stop NAME -w workspace.yaml`."""
    for kind in ("schedule", "sensor"):
        done = subprocess.run(
            [str(BIN / "dagster"), kind, "stop", "--help"], capture_output=True, text=True, timeout=120
        )
        assert done.returncode == 0, done.stderr
        assert f"dagster {kind} stop" in done.stdout and "--workspace" in done.stdout


def test_the_api_and_cli_pages_show_every_endpoint_and_command(site):
    from fastapi import FastAPI

    from recsys_assets.cli.main import build_parser
    from recsys_assets.serving.routes import router

    app = FastAPI()
    app.include_router(router)
    published = json.loads((site / "reference" / "openapi.json").read_text())
    assert set(published["paths"]) == set(app.openapi()["paths"])
    api = page_text(site, "reference/api")
    for path, operations in published["paths"].items():
        for method in operations:
            assert f"{method.upper()} {path}" in api

    cli = page_text(site, "reference/cli")
    [commands] = [a for a in build_parser()._actions if a.__class__.__name__ == "_SubParsersAction"]
    for name, parser in commands.choices.items():
        assert f"recsys {name}" in cli
        for action in parser._actions:
            for option in action.option_strings:
                assert option in cli, (name, option)


def test_a_broken_link_fails_the_build(tmp_path):
    """The strict settings of mkdocs.yml turn a link to a missing page into a failed build (the hooks are left out
    here: this build is about the link check alone)."""
    docs = tmp_path / "docs"
    shutil.copytree(ROOT / "docs", docs, ignore=shutil.ignore_patterns("hooks"))
    (docs / "how-to" / "develop.md").write_text("# Develop\n\nSee [the missing page](no-such-page.md).\n")
    config = tmp_path / "mkdocs.yml"
    config.write_text(f"INHERIT: {ROOT / 'mkdocs.yml'}\ndocs_dir: {docs}\nhooks: []\n")
    built = mkdocs_build(config, tmp_path / "site")
    assert built.returncode != 0
    assert "no-such-page.md" in built.stdout + built.stderr


class Grid(Config):
    factors: list[int] = Field([32, 64], description="ALS factors tried.")


class Outer(Config):
    k: int = Field(10, description="List length.")
    grid: Grid = Field(default_factory=Grid, description="The candidates.")


@op
def configured(config: Outer) -> None:
    del config


@job
def nested():
    configured()


def test_nested_config_classes_render_as_dotted_fields():
    """Config classes nested in a Config (as the model config may become) get one row per leaf field."""
    sys.path.insert(0, str(ROOT / "docs" / "hooks"))
    from refgen.run_config import field_rows

    ops = nested.run_config_schema.config_type.fields["ops"].config_type
    rows = field_rows(ops.fields["configured"].config_type.fields["config"].config_type)
    assert [row[0] for row in rows] == ["`k`", "`grid`", "`grid.factors`"]
    assert rows[0][1:4] == ["int", "no", "`10`"] and rows[0][4] == "List length."
    assert rows[2][1:4] == ["list[int]", "no", "`[32, 64]`"] and rows[2][4] == "ALS factors tried."
