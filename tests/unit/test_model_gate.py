"""The model gate's decision and the model registry (pure functions, no Dagster)."""

import pytest

from recsys_assets.core.lifecycle.model_gate import judge_candidate
from recsys_assets.core.lifecycle.model_registration import Registration, register_candidate
from recsys_assets.core.modeling.artifact import ModelArtifact
from recsys_assets.core.stores.mlflow_registry import MlflowModelRegistry
from recsys_assets.core.stores.store import VersionInfo


def test_candidate_must_beat_popularity():
    verdict = judge_candidate(0.010, 0.012, None, tolerance=0.05, champion_note="nothing is published yet")
    assert not verdict.passed
    assert "must beat the popularity baseline" in verdict.message()
    assert "nothing is published yet" in verdict.message()
    assert judge_candidate(0.013, 0.012, None, tolerance=0.05).passed


def test_popularity_lists_are_published_when_nothing_is_live_and_only_have_to_keep_up_with_a_champion():
    verdict = judge_candidate(0.012, 0.012, None, tolerance=0.05, candidate_is_popularity=True)
    assert verdict.passed and "popularity baseline's" in verdict.message()
    assert "not left without recommendations" in verdict.message()
    assert not judge_candidate(0.012, 0.012, 0.05, tolerance=0.05, candidate_is_popularity=True).passed
    assert judge_candidate(0.012, 0.012, 0.0121, tolerance=0.05, candidate_is_popularity=True).passed


def test_a_live_champion_that_cannot_be_scored_is_kept_rather_than_replaced_by_popularity():
    kept = judge_candidate(
        0.012, 0.012, None, tolerance=0.05, candidate_is_popularity=True, champion_live=True, champion_note="gone"
    )
    assert not kept.passed and "the champion is kept" in kept.message()
    # a model with a real lead over popularity may replace it (no fair comparison is possible)
    assert judge_candidate(0.02, 0.012, None, tolerance=0.05, champion_live=True).passed


def test_a_lead_within_noise_does_not_beat_popularity():
    verdict = judge_candidate(0.013, 0.012, None, tolerance=0.05, lead_is_real=False)
    assert not verdict.passed and "within noise" in verdict.message()


def test_candidate_within_tolerance_of_the_champion_passes():
    assert judge_candidate(0.0480, 0.02, 0.0500, tolerance=0.05).passed  # 4 % worse: tolerated
    refused = judge_candidate(0.0470, 0.02, 0.0500, tolerance=0.05)  # 6 % worse
    assert not refused.passed
    assert "worse than the live champion" in refused.message()
    assert refused.champion_map == 0.05 and refused.popularity_map == 0.02


def test_min_lift_and_invalid_settings():
    assert not judge_candidate(0.030, 0.02, None, tolerance=0.0, min_lift=2.0).passed
    with pytest.raises(ValueError, match="must not be negative"):
        judge_candidate(0.03, 0.02, None, tolerance=-0.1)


def _artifact(version: str) -> ModelArtifact:
    return ModelArtifact(version=version, data_version="d", evaluation=None, serving=None)


@pytest.fixture
def registry(tmp_path, mlflow_empty_db):
    """The model registry on a local MLflow store (a copy of the session's empty SQLite store)."""
    import shutil

    shutil.copy(mlflow_empty_db, tmp_path / "mlflow.db")
    return MlflowModelRegistry(f"sqlite:///{tmp_path / 'mlflow.db'}", "recsys-test", (tmp_path / "artifacts").as_uri())


class _Store:
    """What registration reads of a recommendation store: the live version and its metadata."""

    def __init__(self, live: str | None, model_version: str | None):
        self.live = live
        self.infos = [VersionInfo(live, "2026-06-30T00:00:00", 1, 1, {"model_version": model_version})] if live else []

    def live_version(self) -> str | None:
        return self.live

    def versions(self) -> list[VersionInfo]:
        return self.infos


def test_registering_a_candidate_keeps_it_and_the_live_model(registry):
    for version in ["live", "b", "c"]:  # "live" the oldest
        registry.save(_artifact(version))
    registration = register_candidate(registry, _artifact("new"), _Store("live-1234", "live"), keep=2)
    assert registration == Registration("new", "live", ["b"])
    assert registry.versions() == ["new", "c", "live"]
    # nothing live: only the newest `keep` stay, the candidate among them
    registration = register_candidate(registry, _artifact("newer"), _Store(None, None), keep=1)
    assert registration.live_model_version is None and registry.versions() == ["newer"]


# --- the order history a champion learned from (core/lifecycle/order_history.py) ---


def _shop(seed: int, days: int = 30, end: str = "2026-06-30", lines_per_day: int = 40):
    """Order lines of a small shop whose ids have the formats every shop of the generator shares (O…, C…, P…)."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    n = days * lines_per_day
    day = np.repeat(np.arange(days), lines_per_day)
    return pd.DataFrame(
        {
            "order_id": pd.Series([f"O{i // 2:07d}" for i in range(n)], dtype="string"),
            "line_no": np.arange(n, dtype=np.int64) % 2 + 1,
            "order_ts": pd.Timestamp(end) - pd.to_timedelta(days - 1 - day, unit="D") + pd.Timedelta(hours=9),
            "customer_id": pd.Series([f"C{c:04d}" for c in rng.integers(0, 60, n)], dtype="string"),
            "product_id": pd.Series([f"P{p:04d}" for p in rng.integers(0, 80, n)], dtype="string"),
            "quantity": np.ones(n),
            "unit_price": np.full(n, 2.5),
            "currency": pd.Series(["EUR"] * n, dtype="string"),
            "order_status": pd.Series(["completed"] * n, dtype="string"),
        }
    )


def _source(tmp_path, orders, name="shop"):
    from recsys_assets.core.stores.source_db import create_sqlite_url, open_for_writing

    database = open_for_writing(create_sqlite_url(tmp_path / f"{name}.sqlite"))
    database.write_tables({"orders": orders})
    return database


def test_the_history_sample_is_deterministic_and_comes_from_the_training_window(tmp_path):
    import pandas as pd

    from recsys_assets.core.lifecycle.order_history import HistorySample, sample_history

    database = _source(tmp_path, _shop(1))
    until = pd.Timestamp("2026-06-20 09:00")
    sample = sample_history(database.read_orders, until, days=7, size=50)
    assert len(sample.lines) == 50 and sample == sample_history(database.read_orders, until, days=7, size=50)
    assert {line[4] for line in sample.lines} <= {f"2026-06-{d}" for d in range(14, 21)}  # the 7 days up to until
    assert len({line[4] for line in sample.lines}) > 3  # spread over the window, not one day's first orders
    assert HistorySample.from_json(sample.to_json()) == sample
    # fewer lines than asked for: all of them; nothing in the window: an empty sample, which proves nothing
    assert len(sample_history(database.read_orders, until, days=1, size=1000).lines) == 40
    empty = sample_history(database.read_orders, pd.Timestamp("2020-01-01"), days=3)
    assert empty.lines == ()


def test_a_reexport_of_the_same_shop_is_the_same_history_and_another_shop_is_not(tmp_path):
    import pandas as pd

    from recsys_assets.core.lifecycle.order_history import history_overlap, sample_history

    shop = _shop(1, days=30, end="2026-06-30")
    sample = sample_history(_source(tmp_path, shop, "first").read_orders, pd.Timestamp("2026-06-25 09:00"))
    # the nightly full re-export: the same lines, a week more, and a tenth of the old lines amended or gone
    week = _shop(7, days=5, end="2026-07-05")
    week["order_id"] = "N" + week["order_id"]
    tonight = pd.concat([shop.drop(shop.sample(frac=0.1, random_state=3).index), week], ignore_index=True)
    same = history_overlap(sample, _source(tmp_path, tonight, "tonight").read_order_lines)
    assert same.same_history and 0.8 < same.share < 1.0 and same.sampled == 200
    assert history_overlap(sample, _source(tmp_path, shop, "again").read_order_lines).share == 1.0
    # another shop with the same id formats, the same days, even the same order numbers: not the same history
    other = _shop(2, days=30, end="2026-06-30")
    assert set(other["order_id"]) == set(shop["order_id"])  # ids alone would be fooled
    different = history_overlap(sample, _source(tmp_path, other, "other").read_order_lines)
    assert not different.same_history and different.share < 0.1
    assert "in the source" in different.describe() and ">= 50%" in different.describe()


def test_order_lines_are_looked_up_with_the_table_name_quoted(tmp_path):
    import datetime as dt

    import sqlalchemy as sa

    from recsys_assets.core.stores.source_db import SourceDatabase, SourceTables, create_sqlite_url

    url = create_sqlite_url(tmp_path / "quoted.sqlite")
    with sa.create_engine(url).begin() as connection:
        _shop(1, days=2).to_sql("order", connection, index=False)  # a reserved word as the table's name
    database = SourceDatabase(url, SourceTables(orders="order"))
    found = database.read_order_lines(
        ["O0000000", "O0000030", "x' OR '1'='1"], dt.datetime(2026, 6, 29), dt.datetime(2026, 7, 1)
    )
    assert sorted(zip(found["order_id"], found["line_no"], strict=True)) == [
        ("O0000000", 1),
        ("O0000000", 2),
        ("O0000030", 1),
        ("O0000030", 2),
    ]
    assert database.read_order_lines(["O0000000"], dt.datetime(2026, 7, 1), dt.datetime(2026, 7, 2)).empty


class _LiveStore:
    """A store with one live version, published at `published_at`, serving `published_model`'s lists."""

    def __init__(
        self, model_version: str, published_at: str = "2026-06-30T00:00:00+00:00", published_model="popularity"
    ):
        metadata = {"model_version": model_version, "published_model": published_model}
        self.infos = [VersionInfo(f"{model_version}-abcd", published_at, 1, 1, metadata)]

    def live_version(self) -> str:
        return self.infos[0].version

    def versions(self) -> list[VersionInfo]:
        return self.infos


def _score(store, registry, database, replaced_at=None):
    from recsys_assets.core.lifecycle.model_gate import score_champion

    return score_champion(
        store,
        registry,
        "candidate",
        0.05,
        None,  # the live version serves popularity lists: scored as popularity, no split needed
        None,
        10,
        True,
        popularity_map=0.02,
        orders_replaced_at=replaced_at,
        find_lines=database.read_order_lines,
    )


def test_the_gate_keeps_the_champion_across_a_reexport_and_drops_it_for_another_shop(tmp_path, registry):
    import pandas as pd

    from recsys_assets.core.lifecycle.order_history import sample_history

    shop = _shop(1)
    sample = sample_history(_source(tmp_path, shop, "first").read_orders, pd.Timestamp("2026-06-28 09:00"))
    register_candidate(registry, _artifact("champ"), _Store(None, None), keep=3, history=sample)
    store = _LiveStore("champ")
    replaced = pd.Timestamp("2026-07-01", tz="UTC")  # the orders were replaced after the champion was published

    kept = _score(store, registry, _source(tmp_path, shop, "reexport"), replaced)
    assert (kept.version, kept.map) == ("champ", 0.02) and "200 of 200 order lines" in kept.history

    dropped = _score(store, registry, _source(tmp_path, _shop(2), "other"), replaced)
    assert dropped.version is None and dropped.map is None
    assert "the live version champ-abcd learned from another order history" in dropped.note
    assert "order lines sampled from its training window" in dropped.note


def test_a_champion_registered_without_a_sample_falls_back_to_when_the_orders_were_replaced(tmp_path, registry):
    import pandas as pd

    register_candidate(registry, _artifact("legacy"), _Store(None, None), keep=3)  # no sample, as before
    assert registry.history("legacy") is None
    database = _source(tmp_path, _shop(1))
    store = _LiveStore("legacy", published_at="2026-06-30T00:00:00+00:00")
    after = _score(store, registry, database, pd.Timestamp("2026-07-01", tz="UTC"))
    assert after.version is None and "another order history" in after.note and "records no order-line" in after.note
    before = _score(store, registry, database, pd.Timestamp("2026-06-29", tz="UTC"))
    assert (before.version, before.map) == ("legacy", 0.02)
    assert (_score(store, registry, database).version, _score(store, registry, database).map) == ("legacy", 0.02)
