"""Reads of the Dagster instance: the live model the monitors judge, and the model versions with their metrics."""
