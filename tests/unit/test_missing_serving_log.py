"""Why the monitors found no serving to judge: every way the serving log can be missing, in the words the skew and
online monitors report (`no_servings_reason`)."""

import datetime as dt

from recsys_assets.core.stores.serving_log import append_entries, no_servings_reason, read_entries, synthetic_dir

DAY = dt.date(2026, 7, 1)


def entry(day: dt.date, **extra) -> dict:
    return {"ts": f"{day.isoformat()}T09:00:00Z", "customer_id": "C1", "model_version": "m1", "items": ["P1"],
            "cold_start": False, "target": "local", **extra}  # fmt: skip


def test_an_absent_folder_is_named_with_the_setting_that_moves_it(tmp_path):
    folder = tmp_path / "serving_log"
    reason = no_servings_reason(folder, DAY, DAY)
    assert reason.startswith(f"no serving log: {folder} does not exist (the API writes it;")
    assert "RECSYS_SERVING_LOG_DIR" in reason and "share no disk" in reason
    assert no_servings_reason(folder) == reason  # the skew check asks for no day in particular


def test_a_folder_without_the_day_file_names_the_day_and_what_it_holds(tmp_path):
    reason = no_servings_reason(tmp_path, DAY, DAY)
    assert reason.startswith(f"no servings logged for {DAY}: {tmp_path} holds no day file at all (the API writes it;")
    assert no_servings_reason(tmp_path).startswith(f"no servings logged: {tmp_path} holds no day file at all")

    append_entries(tmp_path, [entry(DAY - dt.timedelta(days=3))])
    reason = no_servings_reason(tmp_path, DAY, DAY)
    assert (
        reason
        == f"no servings logged for {DAY}: {tmp_path} holds no day file for {DAY} (its newest is 2026-06-28.jsonl)"
    )
    week = no_servings_reason(tmp_path, DAY, DAY + dt.timedelta(days=6))
    assert week.startswith(
        f"no servings logged for {DAY}..2026-07-07: {tmp_path} holds no day file for {DAY}..2026-07-07"
    )

    append_entries(synthetic_dir(tmp_path), [entry(DAY, traffic="load-test")])  # the load test's own folder
    reason = no_servings_reason(tmp_path, DAY, DAY)
    assert reason.endswith(
        f"; only synthetic traffic was logged, under {tmp_path / 'synthetic'}, which the monitors never read"
    )


def test_an_empty_day_file_or_one_of_synthetic_traffic_says_so(tmp_path):
    (tmp_path / f"{DAY}.jsonl").write_text("", encoding="utf-8")
    assert no_servings_reason(tmp_path, DAY, DAY) == (
        f"no servings logged for {DAY}: {DAY}.jsonl in {tmp_path} holds no serving (empty, or only lines cut short)"
    )
    append_entries(tmp_path, [entry(DAY, traffic="load-test"), entry(DAY, traffic="probe")])
    assert read_entries(tmp_path, DAY, DAY).empty
    assert no_servings_reason(tmp_path, DAY, DAY) == (
        f"no servings logged for {DAY}: {DAY}.jsonl in {tmp_path} holds only synthetic traffic (load-test, probe)"
    )
    # shop servings of another list: nothing "for you" to judge, the other lists named
    append_entries(tmp_path, [entry(DAY, list="buy_again")])
    assert no_servings_reason(tmp_path, DAY, DAY) == (
        f"no 'for_you' servings logged for {DAY}: {DAY}.jsonl in {tmp_path} holds servings of other lists only "
        "(buy_again)"
    )
