"""The Azure emulators' pytest fixtures; the starters live in recsys_assets/topology/emulators.py (shared with
`make prod-local`)."""

from __future__ import annotations

import pytest

from recsys_assets.topology.emulators import (  # noqa: F401  (re-exported for the tests)
    AZURITE_ACCOUNT,
    AZURITE_KEY,
    BIN,
    COSMOS_EMULATOR_KEY,
    ROOT,
    Azurite,
    CosmosEmulator,
    binary,
    free_port,
    start,
    start_azurite,
    start_cosmos,
    stop,
    wait_for_port,
)


@pytest.fixture(scope="session")
def cosmos_emulator(tmp_path_factory):
    """The Cosmos DB emulator over plain HTTP (the fast mode; HTTPS is covered by its own test)."""
    emulator = start_cosmos(tmp_path_factory.mktemp("cosmos"), ssl=False)
    try:
        yield emulator
    finally:
        stop(emulator.process)


@pytest.fixture(scope="session")
def azurite(tmp_path_factory):
    emulator = start_azurite(tmp_path_factory.mktemp("azurite"))
    try:
        yield emulator
    finally:
        stop(emulator.process)
