"""Which store a run publishes to: the rule "hand-launched runs go to dev, only the production schedule and
sensors go to prod", as one pure function every part of the code location asks."""

from collections.abc import Mapping

from ..tags import AUTOMATIC_TRIGGERS, DAGSTER_AUTOMATION_TAGS, TRIGGER_TAG

TARGETS = ("local", "dev", "prod")


def launched_by_automation(tags: Mapping[str, str]) -> bool:
    """True when a schedule or a sensor launched the run (our trigger tag, or Dagster's own tags)."""
    return tags.get(TRIGGER_TAG) in AUTOMATIC_TRIGGERS or any(key in tags for key in DAGSTER_AUTOMATION_TAGS)


def publication_target(deployment: str, tags: Mapping[str, str]) -> str:
    """`local` in the local deployment; `prod` for schedule / sensor runs of the prod deployment; else `dev`."""
    if deployment == "local":
        return "local"
    if deployment == "prod" and launched_by_automation(tags):
        return "prod"
    if deployment in ("dev", "prod"):
        return "dev"
    raise ValueError(f"unknown deployment {deployment!r}; expected one of {TARGETS}")
