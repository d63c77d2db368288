"""Run an expectation suite on a pandas DataFrame with Great Expectations 1.x and summarise the result.

One ephemeral GX context per process (progress bars off) with a pandas data source; every call builds the suite
from its JSON file, wraps the frame in a batch and validates it with the run-time parameters
(`expectation_parameters`, GX's `$PARAMETER` syntax).

Speed: a passing suite is validated with `result_format="BOOLEAN_ONLY"` (GX then skips building the lists of
unexpected values); only when some expectation fails are those expectations validated again with "SUMMARY"
and the identifying columns of a few offending rows. See benchmarks/RESULTS.md ("Validation (issue 3)"). GX's
per-metric rebuilds of each expectation's configuration are memoised while a suite runs (gx_config_cache).
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from .gx_config_cache import cached_expectation_dicts
from .suites import SuiteError, load_suite_json, suite_parameters, suite_path

_STATE: dict[str, Any] = {}
_STATE_LOCK = threading.RLock()
POSITION = "recsys_position"


@dataclass
class ExpectationFailure:
    """One failed expectation: what it checks, what was observed, and a few offending rows."""

    expectation: str
    target: str
    observed: str
    unexpected_count: int | None = None
    unexpected_percent: float | None = None
    mostly: float | None = None
    sample: list[dict] = field(default_factory=list)
    notes: str = ""
    error: str | None = None

    def summary(self) -> str:
        text = f"{self.expectation}({self.target})"
        if self.error:
            return f"{text} could not be evaluated: {self.error}"
        if self.unexpected_count is not None:
            share = f"{self.unexpected_percent:.2f} %" if self.unexpected_percent is not None else "?"
            text += f": {self.unexpected_count} unexpected ({share})"
            if self.mostly is not None:
                text += f", tolerated up to {100 * (1 - self.mostly):.2f} %"
        else:
            text += f": observed {self.observed}"
        return text


@dataclass
class ValidationReport:
    """The outcome of one suite on one frame."""

    asset: str
    suite: str
    path: str
    rows: int
    success: bool
    evaluated: int
    failures: list[ExpectationFailure]
    seconds: float

    def message(self) -> str:
        if self.success:
            return f"{self.suite}: all {self.evaluated} expectations passed on {self.rows} rows"
        listed = "; ".join(failure.summary() for failure in self.failures[:5])
        more = f" (and {len(self.failures) - 5} more)" if len(self.failures) > 5 else ""
        counts = f"{len(self.failures)} of {self.evaluated} expectations failed on {self.rows} rows"
        return f"{self.suite}: {counts}: {listed}{more}"


def _context():
    """The process' ephemeral GX context and its whole-DataFrame batch definition (built once)."""
    if "batch_definition" not in _STATE:
        import great_expectations as gx
        from great_expectations.data_context.types.base import ProgressBarsConfig

        context = gx.get_context(mode="ephemeral")
        context.variables.progress_bars = ProgressBarsConfig(globally=False)
        source = context.data_sources.add_pandas("recsys")
        asset = source.add_dataframe_asset("frames")
        _STATE["context"], _STATE["source"] = context, source
        _STATE["batch_definition"] = asset.add_batch_definition_whole_dataframe("whole_frame")
    return _STATE["batch_definition"]


@contextmanager
def _without_batch_fingerprint() -> Iterator[None]:
    """GX hashes every frame under 1 GB (all rows, every column) only to label the batch with a fingerprint that
    nothing here reads: 0.3 s per million rows. Its size limit is a module constant, set to 0 while a suite runs."""
    from great_expectations.execution_engine import pandas_execution_engine

    with _STATE_LOCK:
        limit = pandas_execution_engine.HASH_THRESHOLD
        pandas_execution_engine.HASH_THRESHOLD = 0
        try:
            yield
        finally:
            pandas_execution_engine.HASH_THRESHOLD = limit


@contextmanager
def _batches_released() -> Iterator[None]:
    """GX's pandas execution engine (one per data source, kept for the process) holds on to the last frame it
    validated; at 10 M order lines that kept the raw orders' batch (1.5 GB) alive through the next steps. It is let
    go when a suite has run."""
    try:
        yield
    finally:
        manager = _STATE["source"].get_execution_engine().batch_manager
        manager.batch_data_cache.clear()
        manager.reset_batch_cache()


def _plain(value: Any) -> Any:
    """A JSON- and markdown-friendly version of a GX result value."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [_plain(v) for v in value]
    if isinstance(value, pd.Timestamp):
        return str(value)
    if hasattr(value, "item") and not isinstance(value, str):
        try:
            value = value.item()
        except (ValueError, TypeError):
            return str(value)
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if value is pd.NA or value is pd.NaT:
        return None
    return value


def _target(kwargs: dict) -> str:
    if "column" in kwargs:
        return str(kwargs["column"])
    if "column_list" in kwargs:
        return ", ".join(kwargs["column_list"])
    if "column_A" in kwargs:
        return f"{kwargs['column_A']} > {kwargs['column_B']}"
    return "table"


def _failure(result, index_columns: list[str], sample_size: int) -> ExpectationFailure:
    config = result.expectation_config
    kwargs = dict(config.kwargs)
    outcome = result.result or {}
    exception = result.exception_info or {}
    error = None
    if exception.get("raised_exception"):
        error = str(exception.get("exception_message") or "exception").splitlines()[0][:300]
    sample = [_plain(row) for row in (outcome.get("partial_unexpected_index_list") or [])[:sample_size]]
    if not sample and outcome.get("partial_unexpected_list"):
        target = _target(kwargs)
        sample = [{target: _plain(v)} for v in outcome["partial_unexpected_list"][:sample_size]]
    observed = outcome.get("observed_value")
    if observed is None and outcome.get("missing_count"):
        missing = _plain(outcome.get("partial_missing_list") or [])
        observed = f"{outcome['missing_count']} expected value(s) missing, e.g. {missing[:10]}"
        sample = sample or [{f"missing {_target(kwargs)}": value} for value in missing[:sample_size]]
    elif observed is None and "unexpected_count" in outcome:
        observed = f"{outcome['unexpected_count']} of {outcome.get('element_count')} rows unexpected"
    if isinstance(observed, list) and len(observed) > 10:
        observed = f"{len(observed)} values, e.g. {_plain(observed[:10])}"
    percent = outcome.get("unexpected_percent")
    return ExpectationFailure(
        expectation=config.type,
        target=_target(kwargs),
        observed=str(_plain(observed)) if observed is not None else ("not present" if error is None else "error"),
        unexpected_count=outcome.get("unexpected_count"),
        unexpected_percent=float(percent) if percent is not None else None,
        mostly=kwargs.get("mostly"),
        sample=sample,
        notes=str((config.meta or {}).get("notes", "")),
        error=error,
    )


def validate_frame(
    frame: pd.DataFrame,
    asset: str,
    parameters: dict | None = None,
    index_columns: list[str] | tuple[str, ...] = (),
    sample_size: int = 5,
    fast: bool = True,
) -> ValidationReport:
    """Validate `frame` with the suite `expectations/<asset>.json`.

    Parameters
    ----------
    parameters : dict
        Values of the suite's `$PARAMETER` placeholders (day bounds, "now", known ids, K, ...).
    index_columns : sequence of str
        Columns that identify an offending row in the sample (e.g. order_id, line_no); missing ones are skipped.
    sample_size : int
        Offending rows kept per failed expectation.
    fast : bool
        Validate with BOOLEAN_ONLY first and compute details only for failed expectations (default). False
        validates everything with SUMMARY at once (the slower GX default behaviour; kept for the benchmark).
    """
    from great_expectations.core import ExpectationSuite
    from great_expectations.validator.v1_validator import Validator

    started = time.perf_counter()
    data = load_suite_json(asset)
    parameters = dict(parameters or {})
    missing = sorted(suite_parameters(data) - set(parameters))
    if missing:
        raise SuiteError(f"suite {suite_path(asset)} needs run-time parameter(s) {missing}, which were not supplied")
    # GX returns results grouped by domain, not in suite order: tag each expectation with its position
    tagged = [
        {**spec, "meta": {**(spec.get("meta") or {}), POSITION: i}} for i, spec in enumerate(data["expectations"])
    ]
    suite = ExpectationSuite(name=str(data.get("name", asset)), expectations=tagged)
    present = [c for c in index_columns if c in frame.columns]
    detailed = {
        "result_format": "SUMMARY",
        "partial_unexpected_count": sample_size,
        "unexpected_index_column_names": present,
        "return_unique_unexpected": False,
    }
    # one validator for both passes: GX builds the batch (and its markers) once per validator
    validator = Validator(
        batch_definition=_context(),
        batch_parameters={"dataframe": frame},
        result_format="BOOLEAN_ONLY" if fast else detailed,
    )
    with cached_expectation_dicts(), _without_batch_fingerprint(), _batches_released():
        result = validator.validate_expectation_suite(suite, expectation_parameters=parameters)
        failed = [r for r in result.results if not r.success]
        if fast and failed:
            # re-validate the failed expectations from their JSON (parameters unresolved) with details
            positions = sorted(int(r.expectation_config.meta[POSITION]) for r in failed)
            retry = ExpectationSuite(name=suite.name, expectations=[tagged[i] for i in positions])
            validator.result_format = detailed
            detail = validator.validate_expectation_suite(retry, expectation_parameters=parameters)
            failed = [r for r in detail.results if not r.success]
    failed.sort(key=lambda r: int((r.expectation_config.meta or {}).get(POSITION, 0)))
    failures = [_failure(r, present, sample_size) for r in failed]
    return ValidationReport(
        asset=asset,
        suite=str(data.get("name", asset)),
        path=str(suite_path(asset)),
        rows=len(frame),
        success=not failures,
        evaluated=len(result.results),
        failures=failures,
        seconds=time.perf_counter() - started,
    )
