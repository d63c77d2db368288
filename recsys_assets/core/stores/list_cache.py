"""A bounded cache of decoded lists, valid for one state of the store they were read from.

The serving reader keeps the lists it decoded (a customer's "for you" or buy-again list, a product's related
list) for the next request that asks for them, so a repeated request costs no read and no decode. Rows can change
under it at any time: a publish re-writes a version, a fold-in upserts one customer's list into the live version,
possibly from another process. So every entry belongs to a `token`, a value the store derives from the state of
the file as the reading connection sees it (the local store: `PRAGMA data_version` of the reading thread's
connection, which changes whenever another connection commits); a lookup under any other token empties the cache
first. The token is read before the rows, so an entry is never older than the token it is kept under.

Off by default (`RECSYS_SERVING_CACHED_LISTS`): at demo scale a cached list is answered with ~15 µs of CPU instead of
~75 µs, but a request that misses costs ~30 µs more (the state check, keeping the list), and every commit to the
store (a fold-in) empties it; it pays off when customers ask again before the store changes (benchmarks/RESULTS.md).
A decoded 10-item list with explanations is about 3.4 KB (tracemalloc, demo scale): 20 000 lists, about 70 MB.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable


class ListCache:
    """Up to `max_lists` decoded lists, least recently used dropped first, all for one token."""

    def __init__(self, max_lists: int):
        if max_lists < 1:
            raise ValueError(f"a list cache holds at least one list, got max_lists={max_lists}")
        self.max_lists = max_lists
        self._token: Hashable = None
        self._lists: OrderedDict = OrderedDict()
        self._lock = threading.Lock()  # the API reads on the event loop, tests and other callers from threads
        self.hits = self.misses = self.resets = 0

    def get(self, token: Hashable, key: Hashable):
        """The list kept for `key` under `token`, else None (and the cache emptied when `token` is not its own)."""
        with self._lock:
            if token != self._token:
                if self._lists:
                    self.resets += 1
                self._lists = OrderedDict()
                self._token = token
                self.misses += 1
                return None
            found = self._lists.get(key)
            if found is None:
                self.misses += 1
                return None
            self._lists.move_to_end(key)
            self.hits += 1
            return found

    def put(self, token: Hashable, key: Hashable, items) -> None:
        """Keep `items` for `key`, read after `token` was read; dropped when the cache has moved to another token
        meanwhile (another thread saw a newer state)."""
        with self._lock:
            if token != self._token:
                return
            self._lists[key] = items
            self._lists.move_to_end(key)
            if len(self._lists) > self.max_lists:
                self._lists.popitem(last=False)

    def stats(self) -> dict:
        return {"lists": len(self._lists), "hits": self.hits, "misses": self.misses, "resets": self.resets}
