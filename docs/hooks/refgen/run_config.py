"""The run configuration page: the config schema of every configurable asset, check and op, read from the jobs'
run config schema (so flat and nested Config classes render alike: nested fields get dotted names)."""

from __future__ import annotations

import yaml

from .asset_graph import PAGE, asset_link, job_link
from .definitions import asset_graph, load, user_key
from .markdown import anchor, code, literal, table, text

SCALARS = {"Int": "int", "Float": "float", "String": "str", "Bool": "bool", "Any": "any"}


def type_name(config_type) -> str:
    kind = config_type.kind.name
    if kind == "NONEABLE":  # every field with a default is Noneable in Dagster's schema: the default applies
        return type_name(config_type.inner_type)
    if kind == "ARRAY":
        return f"list[{type_name(config_type.inner_type)}]"
    if kind == "ENUM":
        return " \\| ".join(code(value.config_value) for value in config_type.enum_values)
    if kind in ("STRICT_SHAPE", "SHAPE", "PERMISSIVE_SHAPE"):
        return "mapping"
    if kind == "SELECTOR":
        return "one of: " + ", ".join(sorted(config_type.fields))
    name = config_type.given_name or config_type.key
    return SCALARS.get(name.removesuffix("SourceType").removesuffix("Source"), name)


def _inner(config_type):
    while config_type.kind.name in ("NONEABLE", "ARRAY"):
        config_type = config_type.inner_type
    return config_type


def field_rows(config_type, prefix: str = "") -> list[list[str]]:
    """One row per field, nested mappings flattened to dotted names (a list of mappings as `name[].field`)."""
    rows = []
    for name, field in config_type.fields.items():
        path = f"{prefix}{name}"
        inner = _inner(field.config_type)
        nested = inner.kind.name in ("STRICT_SHAPE", "SHAPE", "PERMISSIVE_SHAPE", "SELECTOR") and inner.fields
        default = ""
        if field.default_provided and not nested:
            default = literal(field.default_value)
        rows.append(
            [
                code(path),
                type_name(field.config_type),
                "yes" if field.is_required else "no",
                default,
                text(field.description or ""),
            ]
        )
        if nested:
            suffix = "[]." if _is_array_of_shape(field.config_type) else "."
            rows += field_rows(inner, f"{path}{suffix}")
    return rows


def _is_array_of_shape(config_type) -> bool:
    while config_type.kind.name == "NONEABLE":
        config_type = config_type.inner_type
    return config_type.kind.name == "ARRAY"


def configurable_nodes() -> dict[str, tuple[object, list[str]]]:
    """Node name -> (its `config` field, the jobs whose run config holds it)."""
    defs = load()
    implicit = defs.resolve_implicit_global_asset_job_def()
    nodes: dict[str, tuple[object, list[str]]] = {}
    jobs = [implicit] + [defs.resolve_job_def(job.name) for job in sorted(defs.jobs, key=lambda job: job.name)]
    for job in jobs:
        ops = job.run_config_schema.config_type.fields["ops"].config_type
        for name, field in ops.fields.items():
            config = field.config_type.fields.get("config")
            if config is None or not getattr(config.config_type, "fields", None):
                continue  # no config, or an op that takes none
            _, names = nodes.setdefault(name, (config, []))
            if job is not implicit:
                names.append(job.name)
    return dict(sorted(nodes.items()))


def what(name: str) -> str:
    """An asset, an asset check (its op is named `<asset>_<check>`) or a plain op."""
    graph = asset_graph()
    for key in graph.toposorted_asset_keys:
        if user_key(key) == name:
            return f"asset {asset_link(name, PAGE)}"
        for check in graph.get(key).check_keys:
            if f"{user_key(key)}_{check.name}" == name:
                return f"check {code(check.name)} on {asset_link(user_key(key), PAGE)}"
    return "op"


def render() -> str:
    out = []
    nodes = configurable_nodes()
    out.append(
        table(
            ["node", "what", "in the jobs"],
            [
                [
                    f"[{code(name)}](#{anchor('config', name)})",
                    what(name),
                    ", ".join(job_link(job, PAGE) for job in jobs) or "runs started from the asset graph",
                ]
                for name, (_, jobs) in nodes.items()
            ],
        )
    )
    for name, (config, _) in nodes.items():
        out.append(f"## `{name}` {{#{anchor('config', name)}}}\n")
        out.append(f"The {what(name)}; run config key `ops.{name}.config`.\n")
        out.append(table(["field", "type", "required", "default", "description"], field_rows(config.config_type)))
        example = {"ops": {name: {"config": config.default_value if config.default_provided else {}}}}
        out.append("The defaults as run config (Launchpad, or `dagster job launch --config`):\n")
        out.append("```yaml\n" + yaml.safe_dump(example, sort_keys=False, default_flow_style=False) + "```\n")
    return "\n".join(out)
