"""The `recsys` command line: data, materialization, demos, serving, operations (entry point: cli/main.py)."""
