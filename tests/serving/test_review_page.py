"""The review page in headless Chromium (Debian's `chromium`, driven by playwright): search a customer, compare
what the page shows with the store and the source database (explanations included), compare two kept versions,
switch between the dev and prod targets, list the latest monitoring reports."""

from __future__ import annotations

import json
import os
import shutil
import time

import pandas as pd
import pytest

from monitoring.reports import write_report
from recsys_assets.core.data.purchase_history import purchase_history
from recsys_assets.core.stores.rule_tables import write_rule_tables
from recsys_assets.core.stores.serving_log import read_entries, synthetic_dir
from recsys_assets.core.stores.source_db import SourceDatabase
from recsys_assets.core.stores.store import LocalRecommendationStore
from recsys_assets.serving.app import create_app
from recsys_assets.serving.serving_settings import ServingSettings
from recsys_assets.settings import local_source_url
from tests.support.data import write_source
from tests.support.serving import app_server, lists_for, publish, side_lists_for, tiny_data

pytestmark = pytest.mark.browser

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
KEY = "page-test-key"  # the review key: the page's data needs it (the serving key opens /recommendations only)
SERVING_KEY = "page-test-serving-key"

if not os.path.exists(CHROMIUM):
    if os.environ.get("CI"):
        raise RuntimeError("chromium is not installed: `make test` installs it (apt-get install chromium)")
    pytest.skip("chromium is not installed (run `make test`, which installs it)", allow_module_level=True)


@pytest.fixture
def server(recsys_home, monkeypatch):
    """The app over two targets (dev and prod: two local stores with different versions), in a uvicorn thread; the
    business rules read again every 0.1 s."""
    data = tiny_data()
    url = write_source(data)
    (recsys_home / "list_rules.json").write_text(json.dumps({"refresh_seconds": 0.1}))
    monkeypatch.setenv("RECSYS_RULES_FILE", str(recsys_home / "list_rules.json"))
    dev = LocalRecommendationStore(recsys_home / "dev.sqlite")
    prod = LocalRecommendationStore(recsys_home / "prod.sqlite")
    publish(dev, lists_for(data, shift=1), "dev-m1-cccc", "dev-m1")  # the previous kept dev version
    publish(dev, lists_for(data, shift=2), "dev-m2-aaaa", "dev-m2", side_lists_for(data))  # with buy again, related
    publish(prod, lists_for(data), "prod-m1-bbbb", "prod-m1")
    summary = {"drifted": True, "drifted_features": ["unit_price"], "evidently": {"url": "http://ui.test/p/r1"}}
    write_report(recsys_home / "monitoring", "data_drift", summary, stamp="20260630T080000000000Z")
    settings = ServingSettings(
        stores={"dev": dev, "prod": prod},
        source=SourceDatabase(url),
        api_key=SERVING_KEY,
        review_key=KEY,
        log_dir=recsys_home / "serving_log",
        monitoring_dir=recsys_home / "monitoring",
        evidently_ui_url="http://ui.test",
    )
    app = create_app(settings)
    with app_server(app) as base:
        yield f"{base}/", data, {"dev": dev, "prod": prod}


@pytest.fixture
def page():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser.new_page()
        finally:
            browser.close()


def table(page, tbody_id: str) -> list[list[str]]:
    return page.eval_on_selector_all(
        f"#{tbody_id} tr", "rows => rows.map(r => [...r.children].map(td => td.textContent))"
    )


def test_review_page_shows_store_lists_and_history(server, page, tmp_path):
    url, data, stores = server
    orders_per_customer = data.orders["customer_id"].value_counts()
    customer = orders_per_customer.index[0]
    page.goto(url)
    page.wait_for_selector("#target-field:not([hidden])")  # two targets configured: the switch is shown
    assert page.eval_on_selector_all("#target option", "o => o.map(x => x.value)") == ["dev", "prod"]
    page.fill("#api-key", KEY)
    page.fill("#customer", customer)
    page.click("#search")
    page.wait_for_selector("#recs-box:not([hidden])")

    def expected_rows(store):
        lists = store.get(customer)
        products = data.products.set_index("product_id")
        return [
            [str(r.rank), r.product_id, products.loc[r.product_id, "name"], products.loc[r.product_id, "category"]]
            for r in lists.itertuples()
        ]

    shown = table(page, "recs")
    assert [row[:4] for row in shown] == expected_rows(stores["dev"])
    assert [float(row[4]) for row in shown] == pytest.approx(stores["dev"].get(customer)["score"].tolist(), abs=1e-4)
    assert "dev-m2" in page.text_content("#model-version")
    names = data.products.set_index("product_id")["name"]
    assert [row[6] for row in shown] == [  # next to each item: the bought products behind it, by name
        "because you bought " + ", ".join(names[p] for p in json.loads(because))
        for because in stores["dev"].get(customer)["because"]
    ]

    # compare: the live dev version next to the previous kept one, entered and left with names and categories
    page.wait_for_selector("#compare-box:not([hidden])")
    live, previous = stores["dev"].get(customer, "dev-m2-aaaa"), stores["dev"].get(customer, "dev-m1-cccc")
    entered = [p for p in live["product_id"] if p not in set(previous["product_id"])]
    left = [p for p in previous["product_id"] if p not in set(live["product_id"])]
    products = data.products.set_index("product_id")
    assert table(page, "compare-entered") == [
        [p, products.loc[p, "name"], products.loc[p, "category"]] for p in entered
    ]
    assert table(page, "compare-left") == [[p, products.loc[p, "name"], products.loc[p, "category"]] for p in left]
    assert entered and f"{10 - len(entered)} of 10 products in both lists" in page.text_content("#compare-summary")
    assert "dev · dev-m2-aaaa (live) vs dev · dev-m1-cccc" in page.text_content("#compare-summary")
    page.click("#compare-targets")  # dev next to prod
    page.wait_for_function("document.querySelector('#compare-summary').textContent.includes('prod-m1-bbbb')")
    prod_list = set(stores["prod"].get(customer)["product_id"])
    assert [row[0] for row in table(page, "compare-entered")] == [p for p in live["product_id"] if p not in prod_list]

    # the latest monitoring reports, with their Evidently snapshot links
    page.wait_for_selector("#reports-box:not([hidden])")
    assert table(page, "reports")[0] == ["data_drift", "20260630T080000000000Z", "unit_price", "HTML", "open"]
    assert page.get_attribute("#reports td:last-child a", "href") == "http://ui.test/p/r1"
    # the HTML report, fetched with the review key (GET /reports/<check>/<stamp>.html) into a new tab
    with page.expect_popup() as opened:
        page.click("#reports td:nth-child(4) a")
    report = opened.value
    report.wait_for_function("document.body && document.body.textContent.includes('unit_price')")
    assert report.url.startswith("blob:") and report.text_content("h1") == "data_drift"
    report.close()

    orders = data.orders[data.orders["customer_id"] == customer]
    history = purchase_history(customer, orders, data.products, 10)
    assert table(page, "history-products") == [
        [p["product_id"], p["name"], p["category"], str(p["orders"])] for p in history.top_products
    ]
    assert table(page, "history-categories") == [
        [c["category"], str(c["orders"]), str(c["products"])] for c in history.top_categories
    ]
    name = data.customers.set_index("customer_id").loc[customer, "name"]
    assert page.text_content("#customer-title") == f"{name} ({customer})"
    page.screenshot(path=str(tmp_path / "review-dev.png"), full_page=True)

    page.select_option("#target", "prod")  # the page reloads the customer from the other target
    page.wait_for_function("document.querySelector('#model-version').textContent.includes('prod-m1')")
    assert [row[:4] for row in table(page, "recs")] == expected_rows(stores["prod"])
    # the page's requests are review traffic: logged apart (once the writer flushed), never in the shop's log
    log = stores["dev"].path.parent / "serving_log"
    deadline = time.monotonic() + 10
    while read_entries(synthetic_dir(log), traffic="review").empty and time.monotonic() < deadline:
        time.sleep(0.2)
    assert set(read_entries(synthetic_dir(log), traffic=None)["traffic"]) == {"review"}
    assert read_entries(log).empty

    # a product of the list runs out of stock: the page shows it under "removed by the business rules", and why
    gone = stores["prod"].get(customer)["product_id"].iloc[0]
    write_rule_tables(
        SourceDatabase(local_source_url()), {"stock": pd.DataFrame({"product_id": [gone], "available": [0]})}
    )
    time.sleep(0.5)  # the API reads the rules again every 0.1 s
    page.click("#search")
    page.wait_for_function("document.querySelector('#rules-removed').children.length > 0")
    assert table(page, "rules-removed") == [
        [gone, products.loc[gone, "name"], products.loc[gone, "category"], "stock", "out of stock"]
    ]
    assert gone not in [row[1] for row in table(page, "recs")]
    assert "rules applied: stock (ok)" in page.text_content("#rules-summary")


def test_review_page_shows_buy_again_next_to_for_you_and_a_products_related_lists(server, page):
    url, data, stores = server
    side = stores["dev"].read_side_lists("dev-m2-aaaa")
    buy_again = side[side["list"] == "buy_again"]
    customer = buy_again["key"].value_counts().index[0]
    products = data.products.set_index("product_id")
    page.goto(url)
    page.fill("#api-key", KEY)
    page.fill("#customer", customer)
    page.click("#search")
    page.wait_for_selector("#buy-again-box:not([hidden])")
    mine = buy_again[buy_again["key"] == customer]
    assert table(page, "buy-again") == [
        [str(r.rank), r.product_id, products.loc[r.product_id, "name"], products.loc[r.product_id, "category"],
         f"{r.score:.2f}", r.explanation]
        for r in mine.itertuples()
    ]  # fmt: skip
    assert page.text_content("#buy-again-ranking") == "ranked by buy_again"
    assert not page.is_hidden("#recs-box")  # next to the "for you" list

    together = side[side["list"] == "bought_together"]
    product = together["key"].iloc[0]
    page.fill("#product", product)
    page.click("#related")
    page.wait_for_selector("#product-box:not([hidden])")
    assert page.text_content("#product-title").startswith(f"{products.loc[product, 'name']} ({product})")
    for kind, tbody in (("bought_together", "bought-together"), ("similar", "similar")):
        rows = side[(side["list"] == kind) & (side["key"] == product)]
        assert table(page, tbody) == [
            [str(r.rank), r.product_id, products.loc[r.product_id, "name"], products.loc[r.product_id, "category"],
             r.explanation]
            for r in rows.itertuples()
        ], kind  # fmt: skip

    # prod's live version was published before buy again existed: the page says so instead of failing
    page.select_option("#target", "prod")
    page.wait_for_function("document.querySelector('#model-version').textContent.includes('prod-m1')")
    page.wait_for_selector("#buy-again-note:not([hidden])")
    assert "no buy-again list in the live version prod-m1-bbbb" in page.text_content("#buy-again-note")
    assert page.is_hidden("#error")


def test_review_page_name_search_fallback_and_wrong_key(server, page):
    url, data, stores = server
    page.goto(url)
    page.fill("#api-key", KEY)
    customer = data.customers.iloc[12]
    page.fill("#customer", customer["name"][:-1])  # a name fragment that matches several customers
    page.click("#search")
    page.wait_for_selector("#suggestions-box:not([hidden])")
    page.click(f"#suggestions button[data-customer-id='{customer['customer_id']}']")
    page.wait_for_function(
        f"document.querySelector('#customer-title').textContent.includes('{customer['customer_id']}')"
    )
    assert [r[1] for r in table(page, "recs")] == stores["dev"].get(customer["customer_id"])["product_id"].tolist()

    page.fill("#customer", "NEW-CUSTOMER-1")  # not in the master data nor in the store
    page.click("#search")
    page.wait_for_selector("#fallback:not([hidden])")
    assert "popularity fallback" in page.text_content("#fallback")
    assert table(page, "history-products") == []

    page.fill("#api-key", "wrong-key")
    page.click("#search")
    page.wait_for_selector("#error:not([hidden])")
    assert "401" in page.text_content("#error")

    page.fill("#api-key", SERVING_KEY)  # the shop's key: the page says which key it needs
    page.click("#search")
    page.wait_for_function("document.querySelector('#error').textContent.includes('403')")
    assert "RECSYS_REVIEW_KEY" in page.text_content("#error")


def test_api_docs_load_everything_from_the_server(server, page):
    """/docs renders Swagger UI with assets from the installed package: no request leaves the server."""
    url, _, _ = server
    requested = []
    page.on("request", lambda request: requested.append(request.url))
    page.goto(f"{url}docs")
    page.wait_for_selector("#operations-default-recommendations_recommendations__customer_id__get")
    html = page.content()
    assert "cdn" not in html.lower()
    assert requested and all(r.startswith(url) for r in requested), [r for r in requested if not r.startswith(url)]
    assert {f"{url}docs/assets/swagger-ui-bundle.js", f"{url}docs/assets/swagger-ui.css", f"{url}openapi.json"} <= set(
        requested
    )
