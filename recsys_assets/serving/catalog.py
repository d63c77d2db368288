"""Product names and categories, and the customer list, held in memory for the API and the review page.

Loaded from the source database's master data at start and again whenever a served store changes its live version.
When the source cannot be read the API keeps serving (names and categories are then null), /health says it is
degraded and the server log says why.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field

from ..core.stores.source_db import SourceDatabase
from .encoding import ResponseEncoder

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class CatalogData:
    products: dict[str, tuple[str | None, str | None]] = field(default_factory=dict)  # id -> (name, category)
    customers: dict[str, dict] = field(default_factory=dict)  # id -> {customer_id, name, segment, region}
    loaded_at: float | None = None


def _text(value) -> str | None:
    return None if value is None or value != value else str(value)


class Catalog:
    def __init__(self, source: SourceDatabase | None):
        self.source = source
        self.data = CatalogData()
        self.encoder = ResponseEncoder(self.data.products)  # replaced with the data on every reload
        self.error: str | None = None if source else "no source database configured"
        self._lock = threading.Lock()

    def reload(self) -> None:
        """Read products and customers again; on failure keep the previous data and record the error."""
        if self.source is None:
            return
        with self._lock:
            try:
                products = self.source.read_master("products")
                customers = self.source.read_master("customers")
            except Exception as error:
                self.error = f"{type(error).__name__}: {error}"
                logger.warning("reading master data for the serving catalog failed: %s", self.error)
                return
            self.data = CatalogData(
                products={
                    str(p): (_text(n), _text(c))
                    for p, n, c in zip(products["product_id"], products["name"], products["category"], strict=True)
                },
                # column lists zipped, not to_dict("records"): that took 28 s for 500 000 customers on a busy machine
                customers={
                    str(i): {"customer_id": _text(i), "name": _text(n), "segment": _text(s), "region": _text(r)}
                    for i, n, s, r in zip(
                        *(customers[c].tolist() for c in ("customer_id", "name", "segment", "region")), strict=True
                    )
                },
                loaded_at=time.time(),
            )
            self.encoder = ResponseEncoder(self.data.products)
            self.error = None

    def product(self, product_id: str) -> tuple[str | None, str | None]:
        return self.data.products.get(product_id, (None, None))

    def customer(self, customer_id: str) -> dict | None:
        return self.data.customers.get(customer_id)

    def search_customers(self, query: str, limit: int = 20) -> list[dict]:
        """Customers whose id starts with `query` or whose name contains it (case-insensitive); exact id first."""
        needle = query.strip().lower()
        if not needle:
            return []
        customers = self.data.customers
        exact = customers.get(query.strip())
        found = [exact] if exact else []
        for customer_id, customer in customers.items():
            if len(found) >= limit:
                break
            if customer is exact:
                continue
            name = (customer.get("name") or "").lower()
            if customer_id.lower().startswith(needle) or needle in name:
                found.append(customer)
        return found

    @property
    def status(self) -> str:
        """ok, not_configured (no source database) or unavailable (the last read failed; see the server log)."""
        if self.source is None:
            return "not_configured"
        return "unavailable" if self.error is not None else "ok"

    def stats(self) -> dict:
        """What the API reports: counts and status, never the error text (that goes to the server log)."""
        data = self.data
        return {"products": len(data.products), "customers": len(data.customers), "loaded_at": data.loaded_at,
                "status": self.status}  # fmt: skip
