"""dagster tests."""
