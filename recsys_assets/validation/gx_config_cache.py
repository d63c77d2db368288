"""Memoise `Expectation.dict()` while a suite is validated: Great Expectations 1.x rebuilds it dozens of times.

GX reads `Expectation.configuration` for every domain key, success key and metric it resolves; each read calls
pydantic's `.dict()`, which copies every field element by element. For an `expect_column_values_to_be_in_set`
against 50 000 known customers that is ~50 copies of a 50 000-element list per expectation: 90 % of a
validation's time (benchmarks/RESULTS.md, "Scale and steps"). Inside `cached_expectation_dicts()` the dump
is computed once per expectation and state; every caller still gets its own top-level dict (and own nested
dicts), so GX popping keys or swapping kwargs changes nothing shared. The cache entry is reused only while
the expectation's field values are the very same objects, so an assignment to a field rebuilds it.

GX also builds a new Expectation from the configuration for every metric it resolves (`to_domain_obj`), and a new
object always misses the cache: its dump shares the field's list instead of copying it element by element when the
list is long (`LARGE`), which is what the cache hands out anyway (GX only reads value sets).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

_LOCK = threading.RLock()
LARGE = 1_000  # a list field this long is shared by the dump, not copied


def _dump(plain_dict, expectation) -> dict:
    """`plain_dict(expectation, exclude_defaults=True)`, with long list fields shared instead of copied."""
    large = {
        name: value for name, value in expectation.__dict__.items() if isinstance(value, list) and len(value) >= LARGE
    }
    if not large:
        return plain_dict(expectation, exclude_defaults=True)
    dumped = plain_dict(expectation, exclude_defaults=True, exclude=set(large))
    return {**dumped, **large}  # a long list is never a field's default, so exclude_defaults keeps it


def _copy_dicts(value: Any) -> Any:
    # fresh dicts at every level (cheap: few keys); lists such as value sets are shared, GX only reads them
    if isinstance(value, dict):
        return {key: _copy_dicts(item) for key, item in value.items()}
    return value


@contextmanager
def cached_expectation_dicts() -> Iterator[None]:
    """Within the block, `Expectation.dict(exclude_defaults=True)` is computed once per expectation state."""
    from great_expectations.expectations.expectation import Expectation

    with _LOCK:
        own = Expectation.__dict__.get("dict")
        if getattr(own, "memoised", False):  # nested in a block of this thread: its cache serves
            yield
            return
        plain_dict = Expectation.dict
        cache: dict[int, tuple[Any, tuple, dict]] = {}

        def dict_once(self, *args, **kwargs):
            if args or kwargs != {"exclude_defaults": True}:
                return plain_dict(self, *args, **kwargs)
            state = tuple(self.__dict__.values())
            entry = cache.get(id(self))
            stale = entry is None or len(entry[1]) != len(state)
            if stale or any(a is not b for a, b in zip(entry[1], state, strict=True)):
                # the entry keeps `self` alive, so its id cannot be reused by another object meanwhile
                entry = (self, state, _dump(plain_dict, self))
                cache[id(self)] = entry
            return _copy_dicts(entry[2])

        dict_once.memoised = True
        Expectation.dict = dict_once
        try:
            yield
        finally:
            if own is None:
                del Expectation.dict
            else:
                Expectation.dict = own
