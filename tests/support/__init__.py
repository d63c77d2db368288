"""Test helpers: generated data, emulators, Dagster processes, fault proxy, serving fixtures."""
