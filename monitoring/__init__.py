"""Drift and training/serving skew monitoring: plain functions, DataFrames in, verdict + Evidently report out.

Nothing here imports Dagster; Evidently is imported lazily inside the functions that run a report.
"""
