"""The glue that runs the Dagster-free monitors of `monitoring/` against the live model, shared by the monitoring
assets (`assets/monitoring.py`) and sensors (`sensors/monitoring.py`).

A report is made in three steps, one module each, read top to bottom:
- `inputs.py`       what a check reads: master data, the live model's training data (reference), the new
                    raw_orders partitions (current), the serving-log window — with their caches;
- `live_checks.py`  one function per check (data drift, serving skew, prediction drift): gathers its inputs,
                    asks `monitoring/` for the verdict once, records it;
- `results.py`      the verdict into the Evidently workspace and the report files, then asset metadata and value.
Online evaluation: `online.py` (figures of one served day, for `online_metrics`) and `online_history.py` (the
days recorded in the Dagster instance, for `recsys models` and the serving app's /metrics).
"""
