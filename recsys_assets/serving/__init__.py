"""The serving API and the review page (FastAPI); imports core only, never Dagster, GX or Evidently."""
