"""The model registry view (join of als_model and model_metrics) and the trigger client's pure parts."""

from recsys_assets.core.lifecycle.model_history import format_table, join_versions, params_summary

PARAMS = {"weighting": "log", "alpha": 1.0, "als": {"factors": 32, "regularization": 1.0, "iterations": 15}}


def record(metadata, run_id="run", timestamp="2026-06-30T01:00:00+00:00"):
    return {"metadata": metadata, "run_id": run_id, "timestamp": timestamp}


def test_versions_join_their_newest_metrics():
    models = [
        record(
            {
                "model_version": "v2",
                "git_commit": "abc123def4567",
                "params": PARAMS,
                "trained_at": "2026-06-30T02:00:00+00:00",
            },
            "r2",
        ),
        record({"model_version": "v1", "git_commit": "0ld", "params": PARAMS, "fit_seconds": 1.5}, "r1"),
        record({"model_version": "v0"}, "r0"),
    ]
    metrics = [
        record({"model_version": "v2", "model_map@10": 0.03, "popularity_map@10": 0.01, "summary": "md"}),
        record({"model_version": "v1", "model_map@10": 0.02, "popularity_map@10": 0.01}),
        record({"model_version": "v2", "model_map@10": 0.99}),  # older evaluation of v2: ignored
    ]
    v2, v1, v0 = join_versions(models, metrics)
    assert v2.metric("model_map") == 0.03 and v2.k() == 10 and v2.trained_at.startswith("2026-06-30T02")
    assert "summary" not in v2.metrics
    assert v1.fit_seconds == 1.5 and v1.trained_at == "2026-06-30T01:00:00+00:00"  # falls back to the event time
    assert v0.metrics == {} and v0.metric("model_map") is None
    table = format_table([v2, v1, v0]).splitlines()
    assert table[0].split() == ["version", "trained_at", "params", "map@k", "model", "map@k", "popularity", "git"]
    assert "v2" in table[1] and "0.0300 @10" in table[1] and "abc123def4" in table[1] and "abc123def45" not in table[1]
    assert "not evaluated" in table[3]


def test_params_summary_flattens_the_als_params():
    assert params_summary(PARAMS) == "factors=32 regularization=1.0 iterations=15 weighting=log alpha=1.0"
    knn = {"model": "item_knn", "half_life_days": None, "knn": {"similarity": "bm25", "neighbours": 50}}
    assert params_summary(knn) == "model=item_knn similarity=bm25 neighbours=50"
    assert params_summary({}) == "-"
