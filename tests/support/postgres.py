"""The PostgreSQL server of the tests: the starter lives in recsys_assets/topology/postgres.py (shared with
`make prod-local`)."""

from recsys_assets.topology.postgres import PostgresServer, binaries, postgres_server  # noqa: F401
