"""Publication targets: hand-launched runs publish to dev, only prod schedules and sensors to prod."""

import pytest

from recsys_assets.resources.targets import publication_target
from recsys_assets.tags import TRIGGER_TAG


@pytest.mark.parametrize(
    ("deployment", "tags", "target"),
    [
        ("local", {TRIGGER_TAG: "schedule"}, "local"),
        ("dev", {TRIGGER_TAG: "schedule"}, "dev"),
        ("dev", {}, "dev"),
        ("prod", {}, "dev"),
        ("prod", {TRIGGER_TAG: "manual"}, "dev"),
        ("prod", {TRIGGER_TAG: "schedule"}, "prod"),
        ("prod", {TRIGGER_TAG: "sensor"}, "prod"),
        ("prod", {"dagster/schedule_name": "daily_ingest"}, "prod"),
        ("prod", {"dagster/sensor_name": "drift_sensor"}, "prod"),
    ],
)
def test_only_prod_schedules_and_sensors_publish_to_prod(deployment, tags, target):
    assert publication_target(deployment, tags) == target
