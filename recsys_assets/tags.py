"""Run tag keys shared by schedules, sensors and the assets that read them."""

# who started the run: "manual" (default when absent), "schedule" or "sensor"
TRIGGER_TAG = "recsys/trigger"
# which publication target the run writes to: "local", "dev" or "prod" (set by the deployment logic)
TARGET_TAG = "recsys/target"
# why a retraining run was requested (drift report, skew report, ...)
REASON_TAG = "recsys/reason"
