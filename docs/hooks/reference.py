"""MkDocs hook: the reference pages generated from the code when the site is built, so they cannot drift.

Each generated page keeps its hand-written introduction (docs/reference/*.md); the hook appends what it reads
from the code: the Definitions (asset graph, what starts what, run config), the serving routes' OpenAPI schema
(HTTP API, also published as reference/openapi.json) and the `recsys` argument parser (CLI).
"""

from __future__ import annotations

import sys
from pathlib import Path

HOOKS = Path(__file__).resolve().parent
ROOT = HOOKS.parents[1]
# the checkout being built is documented, not whichever copy of recsys_assets the environment has installed
for path in (str(HOOKS), str(ROOT)):
    if path not in sys.path:
        sys.path.insert(0, path)

from refgen import api, asset_graph, automation, cli, run_config  # noqa: E402

PAGES = {
    "reference/asset-graph.md": asset_graph.render,
    "reference/automation.md": automation.render,
    "reference/run-config.md": run_config.render,
    "reference/api.md": api.render,
    "reference/cli.md": cli.render,
}
OPENAPI = "reference/openapi.json"
NOTE = "<!-- generated when the site is built, by docs/hooks/reference.py: edit the code, not this page -->\n"


def on_files(files, config):
    from mkdocs.structure.files import File

    files.append(File.generated(config, OPENAPI, content=api.openapi_json()))
    return files


def on_page_markdown(markdown, page, config, files):
    render = PAGES.get(page.file.src_uri)
    if render is None:
        return markdown
    return f"{markdown.rstrip()}\n\n{NOTE}\n{render()}"
