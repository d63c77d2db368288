"""`model_beats_control`: the alert when the model is surely no better than the control group over the alert period.

Reads the verdict `online_metrics` computed for the period ending with its partition (monitoring/online.py): from
the interval of the lift, so only `not_better` (the whole interval at or below `min_lift`) alerts; `inconclusive`
(the interval still contains it) and `insufficient_data` pass and say so. It
warns (it does not block: online_metrics feeds nothing) and records an alert (alerts.jsonl, optional webhook);
it never starts a retraining — see the docs' Monitoring explanation for why.

A day the serving log gave no serving for (`no_servings`: the folder absent, no file for the day, or one empty or
holding synthetic traffic only) warns with that reason: the day was not measured, which is not a pass. The alert
stays for the lift: a `not_better` period still alerts, its description naming the missing day too.
"""

from dagster import AssetCheckExecutionContext, AssetCheckResult, AssetCheckSeverity, asset_check

from ..assets.monitoring import online_metrics
from ..core.lifecycle.alerts import Alert
from ..core.stores.alert_sinks import raise_alert
from ..partitions import daily_partitions
from ..resources.state_storage import alert_home


@asset_check(
    asset=online_metrics,
    name="model_beats_control",
    partitions_def=daily_partitions,
    description="Warn and alert when the whole confidence interval of the model's lift over the control group lies at "
    "or below min_lift over the alert period (no verdict while the interval contains it); warn when the serving log "
    "gave no serving for the day.",
)
def model_beats_control(context: AssetCheckExecutionContext, online_metrics: dict) -> AssetCheckResult:
    period = online_metrics["period"]
    lift = period["lift"]
    metadata = {
        "verdict": lift["verdict"],
        "period": f"{period['days'][0]}..{period['days'][-1]}",
        **{
            key: float(lift[key]) for key in ("relative_lift", "relative_low", "relative_high") if lift[key] is not None
        },
    }
    missing = online_metrics.get("no_servings")
    if missing:
        metadata["no_servings"] = missing
    if lift["verdict"] != "not_better":
        if missing:  # no measurement of the day: a warning, never a pass on zero exposures
            description = f"{missing}; over {metadata['period']}: {lift['verdict']} ({lift['reason']})"
            return AssetCheckResult(
                passed=False, severity=AssetCheckSeverity.WARN, description=description, metadata=metadata
            )
        return AssetCheckResult(passed=True, description=lift["reason"], metadata=metadata)
    alert = Alert(
        kind="online_lift",
        source="online_metrics",
        message=f"online_metrics {metadata['period']}: the model is not better than the control group: "
        f"{lift['reason']}",
        severity="warning",
        details={"day": online_metrics["day"], "run_id": context.run.run_id, **metadata},
    )
    delivery = raise_alert(alert, alert_home())
    context.log.warning(f"alert {delivery.describe()}: {alert.message}")
    description = f"{lift['reason']}; {missing}" if missing else lift["reason"]
    return AssetCheckResult(passed=False, severity=AssetCheckSeverity.WARN, description=description, metadata=metadata)
