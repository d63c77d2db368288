"""Signals of the processes the tests start (the one definition is shared with `make prod-local`)."""

from recsys_assets.topology.processes import default_signals  # noqa: F401
