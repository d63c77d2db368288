"""The HTTP API page, from the OpenAPI schema of the serving routes (`recsys_assets.serving.routes.router`)."""

from __future__ import annotations

import functools
import json

from .markdown import anchor, code, literal, paragraph, table, text

METHODS = ("get", "post", "put", "patch", "delete")


@functools.cache
def schema() -> dict:
    """The OpenAPI document of the routes, mounted on a bare FastAPI app: no store, source or settings needed.
    Title and version are the serving app's own (read from `create_app`'s module would need its stores)."""
    from fastapi import FastAPI

    from recsys_assets.serving.routes import router

    app = FastAPI(title="recsys serving API", version="1", docs_url=None, redoc_url=None)
    app.include_router(router)
    return app.openapi()


def openapi_json() -> str:
    return json.dumps(schema(), indent=2, sort_keys=True) + "\n"


def schema_link(ref: str) -> str:
    name = ref.rsplit("/", 1)[-1]
    return f"[{code(name)}](#{anchor('schema', name)})"


def type_of(node: dict) -> str:
    if "$ref" in node:
        return schema_link(node["$ref"])
    if "anyOf" in node or "oneOf" in node:
        return " or ".join(type_of(option) for option in node.get("anyOf") or node.get("oneOf"))
    if "allOf" in node:
        return " and ".join(type_of(option) for option in node["allOf"])
    kind = node.get("type", "any")
    if kind == "array":
        return f"array of {type_of(node.get('items', {}))}"
    if kind == "object" and "additionalProperties" in node and isinstance(node["additionalProperties"], dict):
        return f"object of {type_of(node['additionalProperties'])}"
    if "enum" in node:
        return " \\| ".join(code(value) for value in node["enum"])
    return code(kind if "format" not in node else f"{kind} ({node['format']})")


def constraints(node: dict) -> str:
    parts = []
    for key, label in (("minimum", "≥"), ("maximum", "≤"), ("minLength", "length ≥"), ("maxLength", "length ≤")):
        if key in node:
            parts.append(f"{label} {node[key]}")
    if "pattern" in node:
        parts.append(f"pattern {code(node['pattern'])}")
    return ", ".join(parts)


def render() -> str:
    document = schema()
    security = document.get("components", {}).get("securitySchemes", {})
    out = [paragraph(document.get("info", {}).get("description", ""))]
    if security:
        out.append("Authentication:\n")
        out.append(
            table(
                ["scheme", "type", "sent in"],
                [
                    [code(name), text(s.get("type", "")), f"{text(s.get('in', ''))} {code(s.get('name', ''))}"]
                    for name, s in security.items()
                ],
            )
        )
    rows = []
    for path, operations in document["paths"].items():
        for method in METHODS:
            if method in operations:
                op = operations[method]
                rows.append(
                    [
                        f"[{code(method.upper() + ' ' + path)}](#{anchor('op', op['operationId'])})",
                        text(op.get("summary", "")),
                        "yes" if op.get("security") else "no",
                    ]
                )
    out.append(table(["endpoint", "summary", "API key"], rows))

    out.append("## Endpoints\n")
    for path, operations in document["paths"].items():
        for method in METHODS:
            if method not in operations:
                continue
            op = operations[method]
            out.append(f"### `{method.upper()} {path}` {{#{anchor('op', op['operationId'])}}}\n")
            out.append(paragraph(op.get("description") or op.get("summary", "")))
            out.append("Requires the API key.\n" if op.get("security") else "No API key.\n")
            params = [
                [
                    code(p["name"]),
                    text(p["in"]),
                    "yes" if p.get("required") else "no",
                    type_of(p.get("schema", {})),
                    literal(p["schema"]["default"]) if "default" in p.get("schema", {}) else "",
                    ", ".join(filter(None, [text(p.get("description", "")), constraints(p.get("schema", {}))])),
                ]
                for p in op.get("parameters", [])
            ]
            if params:
                out.append(table(["parameter", "in", "required", "type", "default", "description"], params))
            body = op.get("requestBody", {}).get("content", {})
            for media, content in body.items():
                out.append(f"Request body ({code(media)}): {type_of(content.get('schema', {}))}\n")
            responses = []
            for status, response in op.get("responses", {}).items():
                content = response.get("content", {})
                body_types = ", ".join(f"{type_of(c.get('schema', {}))} ({code(m)})" for m, c in content.items())
                responses.append([code(status), text(response.get("description", "")), body_types])
            out.append(table(["status", "meaning", "body"], sorted(responses)))

    out.append("## Schemas\n")
    for name, node in sorted(document.get("components", {}).get("schemas", {}).items()):
        out.append(f"### `{name}` {{#{anchor('schema', name)}}}\n")
        out.append(paragraph(node.get("description", "")))
        required = set(node.get("required", []))
        rows = [
            [
                code(prop),
                type_of(spec),
                "yes" if prop in required else "no",
                ", ".join(filter(None, [text(spec.get("description", "")), constraints(spec)])),
            ]
            for prop, spec in node.get("properties", {}).items()
        ]
        out.append(table(["field", "type", "required", "description"], rows) or f"Type: {type_of(node)}\n")
    return "\n".join(out)
