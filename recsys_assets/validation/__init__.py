"""Data validation with Great Expectations 1.x: suites from `expectations/<asset>.json`, run on DataFrames.

Great Expectations is imported lazily (inside `gx_runner.validate_frame`), so importing this package is cheap.
"""
