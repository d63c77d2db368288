"""`recsys`: generate or import source data, materialize the graph, run the demos, serve, operate."""

from __future__ import annotations

import argparse
import sys
import warnings

from . import data, demo_online, demos, operations, rules, serve


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="recsys", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    for module in (data, rules, demos, demo_online, serve, operations):
        module.add_commands(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    # Dagster flags the beta/preview features we rely on (single-run backfills, partitioned checks) at import
    warnings.filterwarnings("ignore", message=".*is currently in (beta|preview).*")
    from ..core.data.schema import SchemaError
    from ..core.stores.source_db import SourceDataError
    from ..settings import DeploymentError

    try:
        return args.func(args)
    except (SchemaError, SourceDataError, DeploymentError, ValueError) as error:
        print(f"recsys {args.command}: error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
