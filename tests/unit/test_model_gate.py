"""The model gate's decision and the model registry (pure functions, no Dagster)."""

import pytest

from recsys_assets.core.lifecycle.model_gate import judge_candidate
from recsys_assets.core.lifecycle.model_registration import Registration, register_candidate
from recsys_assets.core.modeling.artifact import ModelArtifact
from recsys_assets.core.stores.model_registry import ModelRegistry
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


def test_registry_saves_loads_and_prunes_but_keeps_the_champion(tmp_path):
    import os
    import time

    registry = ModelRegistry(tmp_path / "models")
    assert registry.load("missing") is None and registry.versions() == []
    for i, version in enumerate(["a", "b", "c", "d"]):
        path = registry.save(_artifact(version))
        os.utime(path, (time.time() + i, time.time() + i))  # distinct ages, newest last
    assert registry.versions() == ["d", "c", "b", "a"]
    assert registry.load("b").version == "b"
    removed = registry.prune(keep=2, protect={"a"})
    assert removed == ["b"]
    assert sorted(registry.versions()) == ["a", "c", "d"]
    with pytest.raises(ValueError, match="invalid model version"):
        registry.load("../x")


class _Store:
    """What registration reads of a recommendation store: the live version and its metadata."""

    def __init__(self, live: str | None, model_version: str | None):
        self.live = live
        self.infos = [VersionInfo(live, "2026-06-30T00:00:00", 1, 1, {"model_version": model_version})] if live else []

    def live_version(self) -> str | None:
        return self.live

    def versions(self) -> list[VersionInfo]:
        return self.infos


def test_registering_a_candidate_keeps_it_and_the_live_model(tmp_path):
    import os

    registry = ModelRegistry(tmp_path / "models")
    for i, version in enumerate(["live", "b", "c"]):
        os.utime(registry.save(_artifact(version)), (1_000 + i, 1_000 + i))  # "live" the oldest
    registration = register_candidate(registry, _artifact("new"), _Store("live-1234", "live"), keep=2)
    assert registration == Registration("new", "live", ["b"])
    assert sorted(registry.versions()) == ["c", "live", "new"]
    os.utime(registry.root / "new.pkl", (2_000, 2_000))  # older than the next candidate, whatever the clock
    # nothing live: only the newest `keep` stay, the candidate among them
    registration = register_candidate(registry, _artifact("newer"), _Store(None, None), keep=1)
    assert registration.live_model_version is None and registry.versions() == ["newer"]
