"""The asset graph page: every asset by group (partitions, deps, checks, jobs) and every job with its selection."""

from __future__ import annotations

from .definitions import asset_graph, asset_jobs, load, user_key
from .markdown import anchor, code, paragraph, table, text


def partitions(node) -> str:
    definition = node.partitions_def
    if definition is None:
        return "none"
    # the start date depends on the source database, so the page names the kind and the schedule, not the range
    cron = getattr(definition, "cron_schedule", None)
    kind = type(definition).__name__.removesuffix("PartitionsDefinition").lower() or "static"
    return f"{kind} ({code(cron)})" if cron else kind


PAGE = "asset-graph.md"  # the other reference pages link to the assets and jobs described here


def asset_link(key: str, page: str = "") -> str:
    return f"[{code(key)}]({page}#{anchor('asset', key)})"


def job_link(name: str, page: str = "") -> str:
    return f"[{code(name)}]({page}#{anchor('job', name)})"


def check_rows(node) -> list[list[str]]:
    graph = asset_graph()
    rows = []
    for check_key in sorted(node.check_keys, key=lambda key: key.name):
        check = graph.get(check_key)
        blocking = "yes: a failure stops the downstream assets of the run" if check.blocking else "no"
        rows.append([code(check_key.name), blocking, text(check.description or "")])
    return rows


def render() -> str:
    graph = asset_graph()
    jobs = asset_jobs()
    order = [key for key in graph.toposorted_asset_keys if graph.get(key).is_materializable]
    groups: dict[str, list] = {}
    for key in order:
        groups.setdefault(graph.get(key).group_name, []).append(key)
    # groups in the order data flows through them: by where their last asset stands in the dependency order
    groups = dict(sorted(groups.items(), key=lambda item: order.index(item[1][-1])))

    out = ["## Overview\n", "Assets in dependency order (upstream first), by UI group.\n"]
    for group, keys in groups.items():
        out.append(f"### Group `{group}`\n")
        rows = []
        for key in keys:
            node = graph.get(key)
            name = user_key(key)
            rows.append(
                [
                    asset_link(name),
                    partitions(node),
                    ", ".join(asset_link(user_key(k)) for k in sorted(node.parent_keys)),
                    ", ".join(code(k.name) for k in sorted(node.check_keys, key=lambda k: k.name)),
                    ", ".join(job_link(job) for job, selected in jobs.items() if name in selected),
                ]
            )
        out.append(table(["asset", "partitions", "upstream", "checks", "jobs"], rows))

    out.append("## Assets\n")
    for key in order:
        node = graph.get(key)
        name = user_key(key)
        out.append(f"### `{name}` {{#{anchor('asset', name)}}}\n")
        out.append(paragraph(node.description) or "*No description.*\n")
        condition = node.automation_condition
        facts = [
            ["group", code(node.group_name)],
            ["partitions", partitions(node)],
            ["upstream", ", ".join(asset_link(user_key(k)) for k in sorted(node.parent_keys)) or "none"],
            ["downstream", ", ".join(asset_link(user_key(k)) for k in sorted(node.child_keys)) or "none"],
            ["code version", code(node.code_version) if node.code_version else "none"],
            ["automation condition", code(condition.get_label() or type(condition).__name__) if condition else "none"],
            ["jobs", ", ".join(job_link(job) for job, selected in jobs.items() if name in selected) or "none"],
        ]
        out.append(table(["", ""], facts))
        checks = check_rows(node)
        if checks:
            out.append(f"Checks on `{name}`:\n")
            out.append(table(["check", "blocking", "what it checks"], checks))

    out.append("## Jobs\n")
    for job in sorted(load().jobs, key=lambda job: job.name):
        out.append(f"### `{job.name}` {{#{anchor('job', job.name)}}}\n")
        out.append(paragraph(job.description) or "*No description.*\n")
        if job.name in jobs:
            out.append("Materializes: " + ", ".join(asset_link(key) for key in jobs[job.name]) + ".\n")
        else:
            ops = sorted(node.name for node in job.graph.nodes)
            out.append("Runs the ops: " + ", ".join(code(op) for op in ops) + " (no asset).\n")
        tags = {key: value for key, value in (job.tags or {}).items() if not key.startswith("dagster/")}
        if tags:
            out.append("Run tags: " + ", ".join(code(f"{key}={value}") for key, value in sorted(tags.items())) + ".\n")
    return "\n".join(out)
