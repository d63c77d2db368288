"""`ServingSettings.from_env()`: what `recsys serve` reads from the environment, and the settings it refuses."""

from __future__ import annotations

import pytest

from recsys_assets.core.lifecycle.control_group import ControlGroup
from recsys_assets.core.stores.store import LocalRecommendationStore
from recsys_assets.serving.auth import MissingApiKeyError
from recsys_assets.serving.serving_settings import ServingSettings


def test_from_env_reads_the_local_deployment(recsys_home, monkeypatch):
    monkeypatch.setenv("RECSYS_API_KEY", "env-key")
    monkeypatch.setenv("RECSYS_REVIEW_KEY", "review-env-key")
    monkeypatch.setenv("RECSYS_SERVING_LOG_DIR", str(recsys_home / "log-here"))
    monkeypatch.setenv("RECSYS_MONITORING_DIR", str(recsys_home / "reports-here"))
    monkeypatch.setenv("RECSYS_CONTROL_SHARE", "0.1")
    monkeypatch.setenv("RECSYS_CONTROL_SALT", "salt-2")
    monkeypatch.setenv("RECSYS_EVIDENTLY_URL", "http://evidently.test/")
    monkeypatch.delenv("RECSYS_EVIDENTLY_UI_URL", raising=False)
    settings = ServingSettings.from_env(refresh_seconds=0.5)
    assert list(settings.stores) == ["local"] and isinstance(settings.stores["local"], LocalRecommendationStore)
    assert settings.api_key == "env-key" and not settings.allow_no_auth and settings.refresh_seconds == 0.5
    assert settings.review_key == "review-env-key"
    assert settings.log_dir == recsys_home / "log-here" and settings.monitoring_dir == recsys_home / "reports-here"
    assert settings.control == ControlGroup(0.1, "salt-2")
    assert settings.evidently_url == settings.evidently_ui_url == "http://evidently.test"


def test_from_env_without_a_key_is_refused_unless_asked_for(recsys_home, monkeypatch):
    monkeypatch.delenv("RECSYS_API_KEY", raising=False)
    monkeypatch.setenv("RECSYS_REVIEW_KEY", "")  # empty counts as unset
    with pytest.raises(MissingApiKeyError, match="RECSYS_API_KEY"):
        ServingSettings.from_env()
    settings = ServingSettings.from_env(allow_no_auth=True)
    assert settings.api_key is None and settings.review_key is None and settings.keys.open


def test_either_key_alone_starts_the_server(recsys_home, monkeypatch):
    monkeypatch.delenv("RECSYS_API_KEY", raising=False)
    monkeypatch.setenv("RECSYS_REVIEW_KEY", "review-only")
    review_only = ServingSettings.from_env()
    assert review_only.api_key is None and review_only.review_key == "review-only" and not review_only.keys.open
    monkeypatch.delenv("RECSYS_REVIEW_KEY")
    monkeypatch.setenv("RECSYS_API_KEY", "shop-only")
    shop_only = ServingSettings.from_env(allow_no_auth=True)  # a key is set: --insecure-no-auth opens nothing
    assert shop_only.keys.serving == "shop-only" and shop_only.keys.review is None and not shop_only.keys.open


def test_the_list_cache_is_off_unless_set_and_reaches_the_readers(recsys_home, monkeypatch):
    from recsys_assets.serving.app import serving_state
    from recsys_assets.settings import DeploymentError

    monkeypatch.setenv("RECSYS_API_KEY", "env-key")
    monkeypatch.delenv("RECSYS_SERVING_CACHED_LISTS", raising=False)
    assert ServingSettings.from_env().cached_lists == 0
    assert serving_state(ServingSettings.from_env()).readers["local"].cache is None
    monkeypatch.setenv("RECSYS_SERVING_CACHED_LISTS", "500")
    reader = serving_state(ServingSettings.from_env()).readers["local"]
    assert reader.cache is not None and reader.cache.max_lists == 500
    monkeypatch.setenv("RECSYS_SERVING_CACHED_LISTS", "-1")
    with pytest.raises(DeploymentError, match="RECSYS_SERVING_CACHED_LISTS must be a whole number"):
        ServingSettings.from_env()
