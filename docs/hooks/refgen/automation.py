"""The "what starts what" page: every schedule, sensor and automation condition of the Definitions, what it
watches, what it launches and how to switch it off."""

from __future__ import annotations

from .asset_graph import PAGE, asset_link, job_link
from .definitions import asset_graph, load, status, user_key
from .markdown import anchor, code, paragraph, table, text

WORKSPACE = "workspace.yaml"


def _keys(selection_or_keys) -> list[str]:
    """Asset keys of an AssetSelection or a list of keys."""
    if selection_or_keys is None:
        return []
    if hasattr(selection_or_keys, "resolve"):
        return sorted(user_key(key) for key in selection_or_keys.resolve(asset_graph()))
    return sorted(user_key(key) for key in selection_or_keys)


def watches(sensor) -> str:
    """What the sensor reads, from its definition. The kinds' own attributes are not public API, so each is read
    with a fallback: a Dagster upgrade that renames them makes the page say less, not fail."""
    kind = sensor.sensor_type.value.lower()
    if kind == "run_status":
        run_status = getattr(sensor, "_run_status", None)
        jobs = [getattr(job, "name", str(job)) for job in getattr(sensor, "_monitored_jobs", None) or []]
        where = ", ".join(job_link(job, PAGE) for job in jobs) if jobs else "every job of the code location"
        state = f"reaching {code(getattr(run_status, 'value', run_status))}" if run_status else ""
        return f"runs of {where} {state}".strip()
    if kind == "multi_asset":
        keys = _keys(getattr(sensor, "_monitored_assets", None))
        return "materializations of " + ", ".join(asset_link(key, PAGE) for key in keys) if keys else "assets"
    check_keys = getattr(sensor.asset_selection, "selected_asset_check_keys", None)
    if check_keys:
        return "the checks " + ", ".join(code(f"{user_key(k.asset_key)}.{k.name}") for k in check_keys)
    resources = sorted(sensor.required_resource_keys or [])
    reads = f" with the resources {', '.join(code(r) for r in resources)}" if resources else ""
    return f"the Dagster instance{reads} (see its description)"


def launches(sensor) -> str:
    jobs = [target.job_name for target in sensor.targets if getattr(target, "job_name", None)]
    if jobs:
        return ", ".join(job_link(job, PAGE) for job in jobs)
    check_keys = getattr(sensor.asset_selection, "selected_asset_check_keys", None)
    if check_keys:
        return "runs of those checks"
    return "no run (it has no target; it records and logs)"


def switch_off(kind: str, name: str) -> str:
    tab = "Schedules" if kind == "schedule" else "Sensors"
    return f"UI: *Automation* → *{tab}* → `{name}` toggle; CLI: `dagster {kind} stop {name} -w {WORKSPACE}`"


def _interval(seconds) -> str:
    if seconds is None:
        return "Dagster's default (30 s)"
    return f"{seconds} s" if seconds < 120 else f"{seconds // 60} min"


def render() -> str:
    defs = load()
    schedules = sorted(defs.schedules, key=lambda schedule: schedule.name)
    sensors = sorted(defs.sensors, key=lambda sensor: sensor.name)
    graph = asset_graph()
    conditions = [
        (user_key(key), graph.get(key).automation_condition)
        for key in graph.toposorted_asset_keys
        if graph.get(key).is_materializable and graph.get(key).automation_condition is not None
    ]

    out = ["## At a glance\n"]
    rows = [
        [
            f"[{code(s.name)}](#{anchor('schedule', s.name)})",
            "schedule",
            code(f"{s.cron_schedule}") + f" ({s.execution_timezone or 'UTC'})",
            job_link(s.job_name, PAGE),
            status(s.default_status),
        ]
        for s in schedules
    ]
    rows += [
        [
            f"[{code(s.name)}](#{anchor('sensor', s.name)})",
            f"{s.sensor_type.value.lower().replace('_', ' ')} sensor",
            watches(s),
            launches(s),
            status(s.default_status),
        ]
        for s in sensors
    ]
    out.append(table(["name", "kind", "when / watches", "launches", "default status"], rows))

    out.append("## Schedules\n")
    for s in schedules:
        out.append(f"### `{s.name}` {{#{anchor('schedule', s.name)}}}\n")
        out.append(paragraph(s.description) or "*No description.*\n")
        facts = [
            ["cron", f"{code(s.cron_schedule)} in {text(s.execution_timezone or 'UTC')}"],
            ["launches", job_link(s.job_name, PAGE)],
            ["default status", status(s.default_status)],
            ["switch off", switch_off("schedule", s.name)],
        ]
        out.append(table(["", ""], facts))

    out.append("## Sensors\n")
    for s in sensors:
        out.append(f"### `{s.name}` {{#{anchor('sensor', s.name)}}}\n")
        out.append(paragraph(s.description) or "*No description.*\n")
        facts = [
            ["kind", text(s.sensor_type.value.lower().replace("_", " "))],
            ["watches", watches(s)],
            ["launches", launches(s)],
            ["minimum interval", _interval(s.minimum_interval_seconds)],
            ["default status", status(s.default_status)],
            ["switch off", switch_off("sensor", s.name)],
        ]
        out.append(table(["", ""], facts))

    out.append("## Automation conditions\n")
    if conditions:
        rows = [
            [asset_link(key, PAGE), code(c.get_label() or type(c).__name__), text(c.description or "")]
            for key, c in conditions
        ]
        out.append(table(["asset", "condition", "meaning"], rows))
        out.append(
            "An automation condition is evaluated by the `default_automation_condition_sensor`; switch it off "
            "like any sensor.\n"
        )
    else:
        out.append(
            "No asset has an automation condition: every run is started by a schedule, a sensor above, or by hand.\n"
        )
    return "\n".join(out)
