"""The `/recommendations` response body, encoded without a generic JSON encoder on the hot path.

Each product's fixed part (`"product_id":..,"name":..,"category":..`) is encoded once with `json.dumps` and cached
per catalogue load; a request only joins those fragments with its rank, score, source and explanation (`reason`,
and `because`: the bought products, each as the same fragment). The result parses to exactly what `json.dumps` of
the same dict would give (tests compare them).
"""

from __future__ import annotations

import json
import math

from ..core.stores.store_reader import Lookup, RelatedLookup


def _dumps(value) -> str:
    return json.dumps(value, ensure_ascii=False)


def _score(score: float | None) -> str:
    return "null" if score is None or not math.isfinite(score) else repr(float(score))


class ResponseEncoder:
    """Encodes answers for one catalogue (`products`: product_id -> (name, category))."""

    def __init__(self, products: dict[str, tuple[str | None, str | None]]):
        self.products = products
        self._fragments: dict[str, str] = {}
        self._strings: dict[str, str] = {}  # a few distinct values only (sources, targets, versions)

    def _string(self, value: str | None) -> str:
        if value is None:
            return "null"
        encoded = self._strings.get(value)
        if encoded is None:
            encoded = self._strings[value] = _dumps(value)
        return encoded

    def product_fragment(self, product_id: str) -> str:
        fragment = self._fragments.get(product_id)
        if fragment is None:
            name, category = self.products.get(product_id, (None, None))
            fragment = f'"product_id":{_dumps(product_id)},"name":{_dumps(name)},"category":{_dumps(category)}'
            self._fragments[product_id] = fragment
        return fragment

    def encode(self, lookup: Lookup, k: int, target: str) -> tuple[bytes, list[str]]:
        """The response body for the first `k` items of `lookup`, and the product ids served (for the log)."""
        items = lookup.items[:k]
        fragment, string = self.product_fragment, self._string
        parts = [
            f'{{"rank":{item.rank},{fragment(item.product_id)},"score":{_score(item.score)},'
            f'"source":{string(item.source)},"reason":{string(item.reason)},'
            f'"because":[{",".join("{" + fragment(p) + "}" for p in item.because)}],'
            f'"explanation":{"null" if item.explanation is None else _dumps(item.explanation)}}}'
            for item in items
        ]
        body = (
            f'{{"customer_id":{_dumps(lookup.customer_id)},"list":{string(lookup.list_name)},"target":{string(target)},'
            f'"model_version":{string(lookup.model_version)},"store_version":{string(lookup.version)},'
            f'"group":{string(lookup.group)},'
            f'"fallback":{string(lookup.fallback)},"cold_start":{"true" if lookup.cold_start else "false"},'
            f'"k":{len(items)},"items":[{",".join(parts)}]}}'
        )
        return body.encode("utf-8"), [item.product_id for item in items]

    def encode_related(self, lookup: RelatedLookup, k: int, target: str) -> tuple[bytes, list[str]]:
        """The /products/{product_id}/related body for the first `k` items of `lookup`, and the product ids served."""
        items = lookup.items[:k]
        name, category = self.products.get(lookup.product_id, (None, None))
        body = {
            "product_id": lookup.product_id,
            "name": name,
            "category": category,
            "kind": lookup.kind,
            "target": target,
            "model_version": lookup.model_version,
            "store_version": lookup.version,
            "fallback": lookup.fallback,
            "k": len(items),
            "items": [
                {
                    "rank": item.rank,
                    "product_id": item.product_id,
                    "name": self.products.get(item.product_id, (None, None))[0],
                    "category": self.products.get(item.product_id, (None, None))[1],
                    "score": item.score if item.score is not None and math.isfinite(item.score) else None,
                    "source": item.source,
                    "reason": item.reason,
                    "explanation": item.explanation,
                }
                for item in items
            ],
        }
        return _dumps(body).encode("utf-8"), [item.product_id for item in items]
