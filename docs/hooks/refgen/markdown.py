"""Small Markdown writers shared by the reference pages (tables whose cells cannot break the table)."""

from __future__ import annotations

import html
import json
from collections.abc import Iterable, Sequence


def text(value: object) -> str:
    """Plain text for a table cell or a paragraph: HTML escaped, on one line, pipes escaped."""
    return html.escape(" ".join(str(value).split()), quote=False).replace("|", "\\|")


def code(value: object) -> str:
    """Inline code (no HTML escaping inside backticks; a value holding backticks gets a longer fence)."""
    value = " ".join(str(value).split()).replace("|", "\\|")
    fence = "``" if "`" in value else "`"
    return f"{fence}{value}{fence}" if fence == "`" else f"{fence} {value} {fence}"


def literal(value: object) -> str:
    """A default value as the user writes it in YAML/JSON run config."""
    return code(json.dumps(value, sort_keys=True, default=str))


def table(headers: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    rows = list(rows)
    if not rows:
        return ""
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(cell or "—" for cell in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def paragraph(value: str | None) -> str:
    """A docstring-like description as Markdown paragraphs (blank lines kept, indentation removed)."""
    if not value:
        return ""
    import inspect

    paragraphs = [" ".join(p.split()) for p in inspect.cleandoc(value).split("\n\n")]
    return "\n\n".join(html.escape(p, quote=False) for p in paragraphs if p) + "\n"


def anchor(kind: str, name: str) -> str:
    """A stable heading id (attr_list), so links between the generated pages do not depend on slug rules."""
    return f"{kind}-" + "".join(c if c.isalnum() else "-" for c in name.lower())
