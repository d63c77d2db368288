"""The business rules at serve time: the rule tables read again from the source database every few seconds
(`refresh_seconds` of the list settings file), so a stock change between publish and serve takes effect, applied
to each served list by the same `apply_rules` as at publish time.

When the source cannot be read the API keeps serving: with the rules of the last good read (or, before any,
the lists as published), and /health says so.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import time

import pandas as pd

from ..core.rules.apply import RuledList, apply_rules
from ..core.rules.rule_data import ListRuleSettings, RuleTables, load_list_settings
from ..core.rules.rule_set import RuleSet, compile_rules
from ..core.rules.side_lists import rules_for_list
from ..core.stores.rule_tables import read_rule_tables
from ..core.stores.source_db import SourceDatabase
from ..core.stores.store_reader import Lookup, Recommendation, RelatedLookup

logger = logging.getLogger(__name__)


class LiveRules:
    """The rule set of the moment, refreshed by a background thread (never on the request path)."""

    def __init__(self, source: SourceDatabase | None, settings: ListRuleSettings | None = None):
        self.source = source
        self.settings = settings or load_list_settings()
        self.refresh_seconds = self.settings.refresh_seconds
        self.rules: RuleSet | None = None
        self.tables: RuleTables | None = None
        self.loaded_at: float | None = None
        self.checked_at: float | None = None
        self.error: str | None = None if source else "no source database configured"
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def refresh(self) -> None:
        """Read the rule tables and the products again; on failure keep the previous rules and record why."""
        if self.source is None:
            return
        with self._lock:
            self.checked_at = time.time()
            try:
                tables = read_rule_tables(self.source, self.settings)
                products = self.source.read_master("products")
                rules = compile_rules(tables, products, pd.Timestamp.now(tz="UTC").date())
            except Exception as error:
                self.error = f"{type(error).__name__}: {error}"
                logger.warning("reading the business rules from the source failed: %s", self.error)
                return
            self.tables, self.rules, self.loaded_at, self.error = tables, rules, time.time(), None

    def start(self) -> None:
        self.refresh()
        if self._thread is None and self.source is not None:
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name="live-rules", daemon=True)
            self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.refresh_seconds):
            self.refresh()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def ruled(
        self, lookup: Lookup | RelatedLookup, segment: str | None, list_name: str = "for_you"
    ) -> RuledList | None:
        """`apply_rules` on the served list `list_name` (the "for you" list: every rule; a side list: the rules
        core/rules/side_lists.py gives it) with the rules of the moment (None: no rules to apply)."""
        rules = self.rules
        if rules is None or not rules.applied or not lookup.items:
            return None
        only = None if list_name == "for_you" else rules_for_list(list_name, rules)
        if only is not None and not only:
            return None
        products = [i.product_id for i in lookup.items]
        return apply_rules(getattr(lookup, "customer_id", ""), segment, products, rules, len(products), only=only)

    def apply(self, lookup: Lookup | RelatedLookup, segment: str | None, list_name: str = "for_you"):
        """The lookup with the products the rules of the moment remove taken out (ranks renumbered) and, on the
        "for you" list, the running campaigns' products pinned first; unchanged when there are no rules."""
        ruled = self.ruled(lookup, segment, list_name)
        if ruled is None:
            return lookup
        by_product = {item.product_id: item for item in lookup.items}
        source = lookup.items[0].source
        items = []
        for rank, product in enumerate(ruled.products, 1):
            item = by_product.get(product)
            if item is None:  # a campaign started after the publish
                item = Recommendation(rank, product, None, source, "campaign", ())
            items.append(dataclasses.replace(item, rank=rank) if item.rank != rank else item)
        return dataclasses.replace(lookup, items=tuple(items))

    def status(self) -> str:
        """ok, not_configured (no source), stale (the last read failed; older rules apply) or unavailable (never
        read: lists are served as published)."""
        if self.source is None:
            return "not_configured"
        if self.error is None:
            return "ok"
        return "stale" if self.rules is not None else "unavailable"

    def describe(self) -> dict:
        """What the API reports about the rules: their state per rule, when read, never an error text."""
        return {
            "status": self.status(),
            "applied": sorted(self.rules.applied) if self.rules else [],
            "rules": self.tables.describe() if self.tables else {},
            "loaded_at": self.loaded_at,
            "checked_at": self.checked_at,
            "refresh_seconds": self.refresh_seconds,
        }
