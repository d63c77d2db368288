"""`make prod-local`: the dev deployment's topology on this machine, on a small generated shop, until Ctrl-C.

    python -m recsys_assets.topology [--customers N --products N --days N --lines-per-day N]

Starts PostgreSQL, the Cosmos DB and Blob emulators, MLflow, the Evidently UI, the code server, the webserver, the
daemon and two serving APIs (stack.py says what each one is in the Helm chart), prints where each UI answers and
stops every process by PID on Ctrl-C (or SIGTERM).
"""

from __future__ import annotations

import argparse
import datetime as dt
import signal
import time

import sqlalchemy as sa

from .processes import remove_homes
from .stack import Topology, temporary_base


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m recsys_assets.topology", description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=400)
    parser.add_argument("--products", type=int, default=300)
    parser.add_argument("--days", type=int, default=20)
    parser.add_argument("--lines-per-day", type=int, default=250)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--keep", action="store_true", help="keep the homes and logs folder after stopping")
    args = parser.parse_args(argv)

    from ..core.data.generator import GeneratorConfig, generate

    end = dt.date.today() - dt.timedelta(days=1)
    config = GeneratorConfig(
        customers=args.customers,
        products=args.products,
        days=args.days,
        lines_per_day=args.lines_per_day,
        seed=args.seed,
        end_date=end,
    )
    # Ctrl-C even when started from a shell that ignores SIGINT in background jobs; SIGTERM stops the same way
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    base = temporary_base()
    topology = Topology(base)
    print(f"starting the dev topology in {base} (logs: {base / 'logs'}) ...", flush=True)
    try:
        with topology.running(generate(config)):
            print("\nthe dev deployment's processes are up:")
            for name, url in topology.urls().items():
                print(f"  {name:<26} {url}")
            print(f"  serving key: {topology.api_key}   review key: {topology.review_key}")
            source = sa.engine.make_url(topology.stores.source_url).render_as_string(hide_password=True)
            print(f"  PostgreSQL order source: {source}")
            print("\nMaterialize raw_orders (all partitions) in the Dagster UI to start the daily cycle. Ctrl-C stops.")
            while True:
                time.sleep(3600)
    except KeyboardInterrupt:
        print("\nstopping every process ...")
    finally:
        if not args.keep:
            remove_homes(base)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
