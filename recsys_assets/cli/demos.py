"""`recsys demo` and `recsys demo-drift`: generated data taken through the whole graph, and drift caught.

`recsys demo-drift`:
1. generate orders whose world changes from `--drift-start` (default: 14 days before the last order day);
2. materialize the graph on the days before the drift (the live model learns the old world); the raw_orders an
   earlier run (`recsys demo`) left belong to the replaced data and were forgotten by the generate step;
3. ingest the drifted days (raw_orders and the master data, as the daily schedule would);
4. evaluate `drift_sensor` against the persistent instance; record its report as a `drift_report`
   materialization;
5. launch the retraining run it requested, with its tags, in-process;
6. evaluate the sensor again with its new cursor: nothing new, nothing fires.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import time
from pathlib import Path

import pandas as pd

from .data import DRIFT_KINDS, cmd_generate, cmd_materialize, demo_scale, parse_date
from .output import QUIET_LOGS, step


def cmd_demo(args: argparse.Namespace) -> int:
    from ..settings import dagster_home, recsys_home

    args.end_date, args.drift_start, args.drift_kind, args.url = None, None, "category_surge", None
    for key, value in demo_scale().items():
        setattr(args, key, value)
    args.seed, args.bad_data_rate = 7, 0.001
    if cmd_generate(args) != 0:
        return 1
    args.start = args.end = args.config = None
    if cmd_materialize(args) != 0:
        return 1
    home = recsys_home()
    print(f"""
    data folder:        {home}
    source database:    {home / "source.db"}
    recommendation store: {home / "store.sqlite"}
    Dagster instance:   {dagster_home()}

    Open the UI with `make ui` (dagster dev on workspace.yaml) at http://127.0.0.1:3000 to see the lineage
    (Assets > View lineage), the raw_orders partitions and the metadata and metric plots of each asset.""")
    return 0


def generate_then_train(args: argparse.Namespace, first: str, last: str, why: str):
    """Generate the demo's data (`args`; this forgets the raw_orders read from earlier data), then train and
    publish on [first, last] only, so the published model knows nothing after `last`.

    Returns (instance, resources, the graph run, the training step's start time), or None when a step failed.
    """
    from ..resources import resources_for
    from .local_run import materialize_graph, persistent_instance

    if cmd_generate(args) != 0:
        return None
    resources, instance = resources_for(), persistent_instance()
    started = step(f"training and publishing on {first} to {last} {why}")
    run = materialize_graph(first, last, run_config=QUIET_LOGS, instance=instance)
    if not run.downstream or not run.downstream.success:
        print("    the training run failed; see `make ui`")
        return None
    return instance, resources, run, started


def cmd_demo_drift(args: argparse.Namespace) -> int:
    """Inject drift, let drift_sensor see it, run the retraining it requests (steps in the module docstring)."""
    from dagster import SensorResult, build_sensor_context, materialize

    from ..assets import ALL_ASSETS
    from ..assets.monitoring import prediction_drift_report
    from ..jobs import RETRAIN_SELECTION
    from ..sensors.monitoring import drift_sensor
    from ..tags import REPORT_TAG
    from .local_run import ingest_range

    end = args.end_date or (dt.datetime.now(dt.UTC).date() - dt.timedelta(days=1))
    drift_start = args.drift_start or end - dt.timedelta(days=13)
    first = end - dt.timedelta(days=args.days - 1)
    if not first < drift_start <= end:
        raise ValueError(f"--drift-start {drift_start} must lie after the first order day {first} and by {end}")
    args.end_date, args.drift_start, args.url, args.bad_data_rate = end, drift_start, None, 0.0
    before = (drift_start - dt.timedelta(days=1)).isoformat()
    trained = generate_then_train(args, first.isoformat(), before, f"(before the {args.drift_kind} drift)")
    if trained is None:
        return 1
    instance, resources, run, started = trained
    model = run.downstream.output_for_node("als_model")
    print(
        f"    model {model.version} trained until {model.serving.trained_until} in {time.perf_counter() - started:.1f}s"
    )

    started = step(f"ingesting the drifted days {drift_start} to {end} (ingest_job selection)")
    ingest_range(instance, resources, drift_start.isoformat(), end.isoformat(), {"loggers": QUIET_LOGS["loggers"]})
    print(f"    done in {time.perf_counter() - started:.1f}s")

    started = step("evaluating drift_sensor")
    context = build_sensor_context(instance=instance, resources=resources)
    result = drift_sensor(context)
    if not isinstance(result, SensorResult) or not result.run_requests:
        reason = getattr(result, "skip_reason", None) or result
        print(f"    the sensor requested no run: {reason}")
        return 1
    for event in result.asset_events:
        instance.report_runless_asset_event(event)
    snapshot = result.asset_events[0].metadata.get("evidently_snapshot")
    [request] = result.run_requests
    report = request.tags[REPORT_TAG]
    summary = json.loads(Path(report).with_suffix(".json").read_text(encoding="utf-8"))
    print(f"    fired in {time.perf_counter() - started:.1f}s: run_key {request.run_key}")
    print(f"    tags: {request.tags}")
    print(f"    cursor: {result.cursor}")
    print(f"\n    {'feature':<20}{'test':<16}{'score':>8}  drifted")
    for feature in sorted(summary["features"], key=lambda f: -f["score"]):
        mark = "yes" if feature["drifted"] else ""
        print(f"    {feature['feature']:<20}{feature['method']:<16}{feature['score']:>8.4f}  {mark}")

    started = step("launching the requested retraining run (retrain_job selection, with the sensor's tags)")
    retrain = materialize(
        ALL_ASSETS,
        selection=RETRAIN_SELECTION,
        instance=instance,
        resources=resources,
        tags=request.tags,
        run_config=QUIET_LOGS,
    )
    new_model = retrain.output_for_node("als_model")
    print(
        f"    new model {new_model.version} trained until {new_model.serving.trained_until} "
        f"in {time.perf_counter() - started:.1f}s (run {retrain.run_id})"
    )

    started = step("prediction drift: what the retrained model recommends versus the previous version")
    predictions = materialize(
        ALL_ASSETS, selection=[prediction_drift_report], instance=instance, resources=resources, run_config=QUIET_LOGS
    ).output_for_node("prediction_drift_report")
    if predictions.get("skipped"):
        print(f"    no verdict: {predictions['skipped']}")
    else:
        print(
            f"    drifted={predictions['drifted']} {predictions['drifted_features']}, "
            f"list overlap {predictions['list_overlap']:.2f}; report {predictions['report_html']}"
        )

    again = drift_sensor(build_sensor_context(instance=instance, resources=resources, cursor=result.cursor))
    print(f"    sensor re-evaluated after retraining: {getattr(again, 'skip_message', None) or again}")
    print(f"""
    drift report (HTML):   {report}
    drift summary (JSON):  {Path(report).with_suffix(".json")}
    Evidently snapshot:    {snapshot.value if snapshot else "not stored (see the drift_report metadata)"}
    drifted features:      {", ".join(summary["drifted_features"])}
    reference window:      {summary["reference_window"][0]} to {summary["reference_window"][1]}
    current partitions:    {summary["current_partitions"][0]} to {summary["current_partitions"][1]}
    Open `make ui` to see the drift_report materialization and the retraining run's tags, and
    `make monitor-ui` for the Evidently workspace (project recsys: the snapshot and the dashboard).""")
    return 0 if pd.Timestamp(new_model.serving.trained_until) >= pd.Timestamp(end) else 1


def add_commands(commands) -> None:
    """Register `demo` and `demo-drift` on the `recsys` sub-command parser."""
    demo = commands.add_parser("demo", help="generate demo data and materialize everything")
    demo.set_defaults(func=cmd_demo)

    drift = commands.add_parser("demo-drift", help="inject drift, let drift_sensor fire, run the retraining")
    for key, value in demo_scale().items():
        drift.add_argument(f"--{key.replace('_', '-')}", type=int, default=value)
    drift.add_argument("--seed", type=int, default=7)
    drift.add_argument("--end-date", type=parse_date, default=None, help="last order day (default yesterday)")
    drift.add_argument("--drift-start", type=parse_date, default=None, help="first drifted day (default end - 13 days)")
    drift.add_argument("--drift-kind", default="category_surge", choices=DRIFT_KINDS)
    drift.set_defaults(func=cmd_demo_drift)
