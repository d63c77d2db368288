"""`recsys trigger` (start runs through the Dagster webserver's GraphQL API), `recsys models` (the registry) and
`recsys promote` (a dev version made live in prod, through `promote_job`)."""

from __future__ import annotations

import argparse
import json
import sys

from ..tags import REASON_TAG, TRIGGER_TAG

PIPELINE = "pipeline"  # ingest_job, then retrain_job once the ingestion succeeded


def _tag(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"a tag is KEY=VALUE, got {text!r}")
    return key, value


def _latest_partition() -> str:
    from ..partitions import daily_partitions

    last = daily_partitions.get_last_partition_key()
    if last is None:
        raise ValueError("raw_orders has no partition yet: RECSYS_PARTITIONS_START is in the future")
    return last


def cmd_trigger(args: argparse.Namespace) -> int:
    from .graphql_client import DagsterTriggerClient, TriggerError, partition_tags

    tags = {TRIGGER_TAG: "manual", REASON_TAG: "recsys trigger", **dict(args.tag or [])}
    ingest_tags = tags
    if args.job in (PIPELINE, "ingest_job"):
        partition = args.partition or (None if (args.start or args.end) else _latest_partition())
        ingest_tags = {**tags, **partition_tags(partition, args.start, args.end)}
    run_config = json.loads(args.run_config) if args.run_config else {}
    client = DagsterTriggerClient(args.url, location=args.location)
    try:
        plan = ["ingest_job", "retrain_job"] if args.job == PIPELINE else [args.job]
        for job in plan:
            job_tags = ingest_tags if job == "ingest_job" else tags
            config = run_config if job != "ingest_job" else {}
            run = client.launch(job, job_tags, config)
            print(f"launched {job}: run {run.run_id} ({run.status})", flush=True)
            must_wait = args.wait or (args.job == PIPELINE and job == "ingest_job")
            if not must_wait:
                continue
            status = client.wait(
                run.run_id,
                timeout=args.timeout,
                on_status=lambda status, job=job: print(f"    {job}: {status}", flush=True),
            )
            if status != "SUCCESS":
                print(f"recsys trigger: {job} run {run.run_id} ended {status}", file=sys.stderr)
                return 1
        return 0
    except TriggerError as error:
        print(f"recsys trigger: error: {error}", file=sys.stderr)
        return 1
    finally:
        client.close()


def cmd_models(args: argparse.Namespace) -> int:
    from monitoring.online import per_model_version

    from ..core.lifecycle.model_history import format_table
    from ..instance.model_versions import model_versions
    from ..watch.online_history import online_days
    from .local_run import persistent_instance
    from .output import format_online

    instance = persistent_instance()
    versions = model_versions(instance, limit=args.limit)
    online = per_model_version(online_days(instance))
    registry = registry_view()
    if args.json:
        by_version = {figures["model_version"]: figures for figures in online}
        by_registered = {item["version"]: item for item in registry["registered"]}
        listed = [
            {**vars(v), "online": by_version.get(v.version), "mlflow": by_registered.get(v.version)} for v in versions
        ]
        print(json.dumps({"versions": listed, "registry": registry}, indent=2, default=str))
        return 0
    if not versions:
        print("no als_model materialization in this Dagster instance yet (run `recsys materialize`)")
    else:
        print(format_table(versions))
        print("\nonline (serving log joined with later orders; materialize online_metrics; docs: Monitoring):")
        print(format_online(online) if online else "    no online_metrics materialization yet")
    print(f"\nregistered in {registry['location']} (the model gate's champion is the one live in a target):")
    print(registry["table"])
    print(registry["ui"])
    return 0


def registry_view() -> dict:
    """The model registry (MLflow) as `recsys models` shows it: each registered version with its MLflow version
    number, run id and aliases, the targets whose live store version names it, and how to open the MLflow UI."""
    from ..core.lifecycle.model_history import format_registered, mlflow_ui_hint
    from ..core.lifecycle.model_registration import live_model_version
    from ..core.stores.mlflow_registry import open_registry
    from ..serving.stores import serving_stores
    from ..settings import current_deployment, model_registry_settings

    settings = model_registry_settings(current_deployment())
    registry = open_registry(**settings)
    registered = registry.describe()
    live = {}
    for target, store in serving_stores().items():
        try:
            version = live_model_version(store)
        except Exception as error:  # noqa: BLE001 (a store that cannot be read is named, the registry still shown)
            print(f"recsys models: cannot read the {target} store: {error}", file=sys.stderr)
            continue
        if version:
            live[target] = version
    return {
        "location": registry.location,
        "registered": registered,
        "live": live,
        "table": format_registered(registered, live),
        "ui": mlflow_ui_hint(registry.public_uri, settings["artifact_location"] or None),
    }


def cmd_promote(args: argparse.Namespace) -> int:
    """Run `promote_job` in this process against the persistent instance (the run is recorded like any other)."""
    from ..jobs import promote_job
    from ..resources import resources_for
    from ..settings import current_deployment
    from .local_run import persistent_instance

    if current_deployment() != "prod":
        raise ValueError("recsys promote copies a dev version to prod: run it with RECSYS_DEPLOYMENT=prod")
    config = {"version": args.version, "keep_versions": args.keep_versions}
    result = promote_job.execute_in_process(
        run_config={"ops": {"promote_recommendations": {"config": config}}},
        resources={"store": resources_for()["store"]},
        instance=persistent_instance(),
        tags={TRIGGER_TAG: "manual", REASON_TAG: f"recsys promote {args.version}"},
        raise_on_error=False,
    )
    if not result.success:
        failure = result.failure_data_for_node("promote_recommendations")
        message = failure.error.message.strip() if failure and failure.error else "see the run's logs"
        print(f"recsys promote: run {result.run_id} failed: {message}", file=sys.stderr)
        return 1
    done = result.output_for_node("promote_recommendations")
    print(f"promoted {done['version']} to {done['store']} (was {done['previous']}); run {result.run_id}")
    return 0


def add_commands(commands) -> None:
    """Register `trigger`, `models` and `promote` on the `recsys` sub-command parser."""
    trigger = commands.add_parser(
        "trigger", help="start the pipeline (or one job) through a Dagster webserver's GraphQL API"
    )
    trigger.add_argument("--url", default="http://127.0.0.1:3000", help="Dagster webserver (default %(default)s)")
    trigger.add_argument(
        "--job",
        default=PIPELINE,
        choices=[PIPELINE, "ingest_job", "retrain_job"],
        help="pipeline = ingest_job, then retrain_job after it succeeded (default)",
    )
    trigger.add_argument("--partition", help="raw_orders partition to ingest (default: the latest, yesterday)")
    trigger.add_argument("--start", help="first partition of a range ingested as one run (with --end)")
    trigger.add_argument("--end", help="last partition of the range")
    trigger.add_argument("--run-config", help="run config of retrain_job as JSON (Launchpad format)")
    trigger.add_argument("--tag", type=_tag, action="append", help="extra run tag KEY=VALUE (repeatable)")
    trigger.add_argument("--location", default="recsys", help="code location name (default %(default)s)")
    trigger.add_argument("--wait", action="store_true", help="wait for the last run to finish; exit 1 unless SUCCESS")
    trigger.add_argument("--timeout", type=float, default=3600.0, help="seconds to wait per run")
    trigger.set_defaults(func=cmd_trigger)

    models = commands.add_parser(
        "models", help="list model versions with their metrics and their registered versions in MLflow"
    )
    models.add_argument("--limit", type=int, default=20)
    models.add_argument("--json", action="store_true", help="print JSON instead of a table")
    models.set_defaults(func=cmd_models)

    promote = commands.add_parser("promote", help="make a dev version live in prod, unchanged (RECSYS_DEPLOYMENT=prod)")
    promote.add_argument("version", help="the dev store version (published_recommendations metadata `version`)")
    promote.add_argument("--keep-versions", type=int, default=3, help="versions kept in prod (default %(default)s)")
    promote.set_defaults(func=cmd_promote)
