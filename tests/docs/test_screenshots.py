"""The docs' screenshots, taken anew on every run so they never show an old UI: the Dagster UI's asset lineage
after a small materialization, the review page showing a customer, and an Evidently drift report.

Headless Chromium from Debian (`chromium`) driven by playwright, as in tests/serving/test_review_page.py; every
server listens on a free loopback port and is stopped by PID. The images are written to docs/images/.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import shutil
import struct
import subprocess
from pathlib import Path

import pandas as pd
import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from recsys_assets.core.data.generator import GeneratorConfig, generate
from tests.support import dagster_processes
from tests.support.data import write_source
from tests.support.serving import ServerProcess

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
IMAGES = ROOT / "docs" / "images"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"]
KEY = "docs-screenshot-key"  # the review key: the page's data needs it (the serving key opens /recommendations only)
# small enough to materialize in well under a minute on two cores, large enough for every step and check to run
TINY = GeneratorConfig(customers=300, products=300, days=20, lines_per_day=250, seed=11, end_date=dt.date(2026, 6, 30))

if not os.path.exists(CHROMIUM):
    if os.environ.get("CI"):
        raise RuntimeError("chromium is not installed: `make test` installs it (apt-get install chromium)")
    pytest.skip("chromium is not installed (run `make test`, which installs it)", allow_module_level=True)


def png_size(path: Path) -> tuple[int, int]:
    """Width and height from the PNG header (IHDR), refusing anything that is not a PNG."""
    head = path.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n" and head[12:16] == b"IHDR", f"{path} is not a PNG"
    return struct.unpack(">II", head[16:24])


def assert_screenshot(path: Path, min_width: int, min_height: int) -> None:
    width, height = png_size(path)
    assert width >= min_width and height >= min_height, (path, width, height)
    # a blank or nearly blank page compresses to a few kilobytes; a rendered page does not
    assert path.stat().st_size > 20_000, (path, path.stat().st_size)


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture(scope="module")
def materialized(tmp_path_factory):
    """One small materialization of the whole graph (`recsys materialize`) in its own RECSYS_HOME, shared by the
    Dagster UI and review page screenshots. Yields (home, generated data)."""
    home = tmp_path_factory.mktemp("docs-home")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("RECSYS_HOME", str(home))
        patch.setenv("DAGSTER_HOME", str(home / "dagster"))
        patch.delenv("RECSYS_SOURCE_URL", raising=False)
        patch.delenv("RECSYS_DEPLOYMENT", raising=False)
        (home / "dagster").mkdir()
        (home / "dagster" / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
        data = generate(TINY)
        write_source(data)
        done = subprocess.run(
            [str(dagster_processes.BIN / "recsys"), "materialize"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
        yield home, data


def test_dagster_asset_graph_screenshot(materialized, browser, tmp_path):
    target = IMAGES / "dagster-asset-graph.png"
    with dagster_processes.webserver(tmp_path) as url:
        page = browser.new_page(viewport={"width": 1800, "height": 1300})
        try:
            # the UI's newsletter dialog ("Join the Dagster community") opens on some first visits, at any moment
            # of the page's life: dismissed whenever it covers the page before an action
            skip = page.get_by_role("button", name="Skip")
            page.add_locator_handler(
                page.locator(".dagster-backdrop"),
                lambda: skip.click() if skip.is_visible() else page.keyboard.press("Escape"),
            )
            page.goto(f"{url}/asset-groups")
            # the groups, drawn collapsed: the whole graph fits the page (expanded, it no longer does)
            for group in ("source", "preparation", "modeling", "publishing", "monitoring"):
                page.wait_for_selector(f"text={group}", timeout=60_000)
            page.get_by_text("Hide navigation").click()
            newsletter = page.get_by_text("Join the Dagster community")
            for _ in range(3):  # the dialog may also open after the last action: dismissed, and the picture retaken
                if newsletter.is_visible():
                    with contextlib.suppress(PlaywrightTimeout):  # the handler above may have closed it first
                        skip.click(timeout=5_000)
                    newsletter.wait_for(state="hidden", timeout=10_000)
                page.mouse.move(5, 5)  # no hover highlight
                page.wait_for_timeout(2_000)  # the status colours arrive after the layout
                page.screenshot(path=str(target))
                if not newsletter.is_visible():
                    break
            assert not newsletter.is_visible(), "the newsletter dialog kept covering the asset graph"
        finally:
            page.close()
    assert_screenshot(target, 1600, 1000)


def test_review_page_screenshot(materialized, browser):
    home, data = materialized
    target = IMAGES / "review-page.png"
    customer = data.orders["customer_id"].value_counts().index[0]  # the most active customer: a full history
    server = ServerProcess({"RECSYS_REVIEW_KEY": KEY})
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    try:
        server.wait_ready()
        page.goto(f"{server.url}/")
        page.fill("#api-key", KEY)
        page.fill("#customer", customer)
        page.click("#search")
        page.wait_for_selector("#recs-box:not([hidden])")
        page.wait_for_function(f"document.querySelector('#customer-title').textContent.includes('{customer}')")
        assert page.eval_on_selector_all("#recs tr", "rows => rows.length") >= 5
        page.screenshot(path=str(target), full_page=True)
    finally:
        page.close()
        server.stop()
    assert_screenshot(target, 1400, 1000)


def test_evidently_report_screenshot(browser, tmp_path):
    """A drift report as the drift sensor writes it (monitoring/), on data with a category surge injected."""
    from monitoring.drift import run_drift_check
    from monitoring.features import (
        CATEGORICAL_FEATURES,
        NUMERICAL_FEATURES,
        order_features,
        purchase_lines,
        reference_profile,
    )
    from monitoring.reports import write_report

    cut = dt.date(2026, 6, 19)
    data = generate(
        GeneratorConfig(
            customers=400,
            products=300,
            days=40,
            lines_per_day=300,
            seed=7,
            end_date=dt.date(2026, 6, 30),
            drift_start=cut,
            drift_kind="category_surge",
        )
    )
    lines = purchase_lines(data.orders)
    before = lines["order_ts"] < pd.Timestamp(cut)
    profile = reference_profile(lines[before])
    reference = order_features(lines[before], data.products, data.customers, profile, leave_one_out=True)
    current = order_features(lines[~before], data.products, data.customers, profile)
    result, snapshot = run_drift_check("data_drift", reference, current, NUMERICAL_FEATURES, CATEGORICAL_FEATURES)
    report = write_report(tmp_path / "monitoring", "data_drift", result.as_dict(), snapshot)

    target = IMAGES / "evidently-report.png"
    page = browser.new_page(viewport={"width": 1400, "height": 1100})
    outside = []

    def local_only(route):  # the report must render from the file alone (the data team may open it offline)
        if route.request.url.startswith("file:"):
            return route.continue_()
        outside.append(route.request.url)
        return route.abort()

    page.route("**/*", local_only)
    try:
        page.goto(report.html.resolve().as_uri())
        page.wait_for_selector("text=Dataset Drift", timeout=30_000)
        page.wait_for_timeout(1_500)  # the plots draw after the text
        page.screenshot(path=str(target))
    finally:
        page.close()
    assert not outside, outside
    assert_screenshot(target, 1400, 1100)
