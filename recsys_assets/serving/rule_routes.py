"""`GET /customers/{customer_id}/rules` (review key): which products the business rules of the moment remove from a
customer's live list and why, the campaign products pinned, and the state of every rule (the review page shows
them next to the list)."""

from __future__ import annotations

import logging

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi import Path as PathParam

from ..core.stores.store_reader import NoLiveVersionError
from .routes import CUSTOMER_ID_PATTERN, ERRORS, StoreUnavailable, _state, require_review_key

logger = logging.getLogger(__name__)

rule_router = APIRouter()


@rule_router.get("/customers/{customer_id}/rules", responses=ERRORS, dependencies=[Depends(require_review_key)])
def customer_rules(
    request: Request,
    customer_id: str = PathParam(..., pattern=CUSTOMER_ID_PATTERN),
    target: str | None = Query(None, description="store target (default: the first configured)"),
) -> dict:
    """The rules applied to this customer's live list now: `served` (the product ids served after the rules),
    `removed` (product, name, category, rule, why),
    `pinned` (campaign products), `rules` (per rule: applied, turned off, or no data) and their `status`."""
    state = _state(request)
    name, reader = state.reader_for(target)
    try:
        lookup = reader.lookup(customer_id)
    except NoLiveVersionError as error:
        raise HTTPException(503, f"target {name} has no live version of the recommendations yet") from error
    except Exception as error:
        logger.error("rules of %s: reading %s failed: %s", customer_id, reader.store.describe(), error)
        raise StoreUnavailable(name) from error
    customer = state.catalog.customer(customer_id)
    segment = (customer or {}).get("segment")
    rules = state.rules
    ruled = rules.ruled(lookup, segment) if rules is not None else None
    catalog = state.catalog

    def named(product_id: str) -> dict:
        product_name, category = catalog.product(product_id)
        return {"product_id": product_id, "name": product_name, "category": category}

    return {
        "customer_id": customer_id,
        "segment": segment,
        "store_version": lookup.version,
        "fallback": lookup.fallback,
        "served": ruled.products if ruled else [item.product_id for item in lookup.items],
        "removed": [named(r.product_id) | {"rule": r.rule, "why": r.why} for r in ruled.removed] if ruled else [],
        "pinned": [named(p) | {"campaign_id": ruled.campaign_of[p]} for p in ruled.pinned] if ruled else [],
        **(rules.describe() if rules is not None else {"status": "not_configured", "applied": [], "rules": {}}),
    }
