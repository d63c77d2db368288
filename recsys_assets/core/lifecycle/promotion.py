"""Promotion: make a version tested in one store (dev) live in another (prod), unchanged."""

from __future__ import annotations

from dataclasses import dataclass

from ..stores.store import RecommendationStore, StoreError


@dataclass(frozen=True)
class Promotion:
    version: str
    source: str
    target: str
    previous: str | None
    customers: int
    rows: int


def promote_version(
    source: RecommendationStore, target: RecommendationStore, version: str, keep_versions: int = 3
) -> Promotion:
    """Copy `version` from `source` to `target` and make it live there (atomically, like any publish).

    The version keeps its name and metadata, plus `promoted_from`. Promoting the version already live in
    `target` is a no-op.
    """
    infos = {info.version: info for info in source.versions()}
    if version not in infos:
        raise StoreError(
            f"{source.describe()}: version {version!r} cannot be promoted, it is not kept there "
            f"(kept: {sorted(infos) or 'none'})"
        )
    lists = source.read_version(version)
    if len(lists) != infos[version].rows:
        raise StoreError(
            f"{source.describe()}: version {version} has {len(lists)} rows but was published with "
            f"{infos[version].rows}; not promoting an incomplete version"
        )
    previous = target.live_version()
    metadata = {**infos[version].metadata, "promoted_from": source.describe()}
    target.publish(version, lists, metadata, keep_versions=keep_versions)
    return Promotion(version, source.describe(), target.describe(), previous, infos[version].customers, len(lists))
