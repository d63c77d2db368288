"""The glue that runs the Dagster-free monitors of `monitoring/` against the live model, shared by the monitoring
assets and sensors: `live_checks.py` (drift, skew, prediction drift), `online.py` (online metrics of a served day),
`online_history.py` (the online days recorded in the Dagster instance)."""
