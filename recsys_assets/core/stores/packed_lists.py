"""How the local store keeps a list: one row per list, not one per item.

A list (a customer's "for you" or buy-again list, a product's related list) is one row holding, per item field, that
field of every item in rank order: texts joined by the unit separator U+001F (a missing value is U+001E), scores as
little-endian float64 bytes (exact). One row per list is how the Cosmos store keeps one document per list; for
SQLite it means ten times fewer inserts on publish, and joining texts costs a tenth of encoding them as JSON — what
keeps publishing the three lists near the cost of the "for you" list alone (benchmarks/publish_lists.py). A serving
read is one indexed row.

Stored item fields, in order: ranks, product ids, sources, reasons, the list's explanation field (`because` for
"for you" lists, `explanation` for side lists), scores. An item reads back as (rank, product_id, score, source,
reason, explanation).
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pandas as pd

SEPARATOR, MISSING = "\x1f", "\x1e"
ITEM_FIELDS = ("rank", "product_id", "score", "source", "reason")  # then the list's explanation field


class ListLayoutError(ValueError):
    """The lists cannot be stored as given; the message names the list or the value."""


def texts_or_missing(column: pd.Series, name: str) -> list[str]:
    """A column as str values, MISSING where none (converted by pandas, not one Python call per value)."""
    present = column.notna().to_numpy()
    texts = column.astype(str).astype(object).where(present, MISSING).tolist()
    if texts.count(MISSING) != int((~present).sum()):
        raise ListLayoutError(f"a {name} holds the character U+001E, which stands for a missing value")
    return texts


def joined_pieces(values: list[str], starts: np.ndarray, ends: np.ndarray, name: str) -> list[str]:
    """Each list's values (items starts[i]..ends[i]-1 of `values`) joined by SEPARATOR: the whole column is joined
    once and each list's text cut out of it by character offsets. ListLayoutError when a value holds SEPARATOR (it
    would read back as two values)."""
    whole = SEPARATOR.join(values)
    if whole.count(SEPARATOR) != max(len(values) - 1, 0):
        bad = next(v for v in values if SEPARATOR in v)
        raise ListLayoutError(f"{name} {bad!r} holds the separator U+001F")
    offsets = np.r_[0, np.cumsum(np.fromiter(map(len, values), dtype=np.int64, count=len(values)))]
    first, last = (offsets[starts] + starts).tolist(), (offsets[ends] + ends - 1).tolist()
    return [whole[a:b] for a, b in zip(first, last, strict=True)]


def pack_lists(frame: pd.DataFrame, keys: list[str], explanation: str, chunk_items: int = 100_000) -> Iterator[tuple]:
    """(*key values, ranks, product_ids, sources, reasons, explanations, scores) per list of `frame` (one list per
    distinct `keys`; its items the rows, by rank), converted about `chunk_items` items at a time.
    ListLayoutError names a list holding a rank twice or a text that holds a separator."""
    if len(frame) == 0:
        return
    frame = frame.sort_values([*keys, "rank"], kind="stable")
    key_values = [frame[key].astype(str).to_numpy() for key in keys]
    ranks = frame["rank"].astype(int).to_numpy()
    same_list = np.logical_and.reduce([values[1:] == values[:-1] for values in key_values])
    twice = np.flatnonzero(same_list & (ranks[1:] == ranks[:-1]))
    if len(twice):
        i = int(twice[0]) + 1
        named = ", ".join(f"{key}={values[i]!r}" for key, values in zip(keys, key_values, strict=True))
        raise ListLayoutError(f"the list with {named} holds rank {int(ranks[i])} twice ({len(twice)} such row(s))")
    scores = frame["score"].astype("<f8").to_numpy()
    starts = np.flatnonzero(np.r_[True, ~same_list])
    ends = np.r_[starts[1:], len(frame)]
    lists_per_chunk = max(1, chunk_items // 10)
    for first in range(0, len(starts), lists_per_chunk):
        chunk_starts, chunk_ends = starts[first : first + lists_per_chunk], ends[first : first + lists_per_chunk]
        low, high = int(chunk_starts[0]), int(chunk_ends[-1])
        rows = frame.iloc[low:high]
        local_starts, local_ends = chunk_starts - low, chunk_ends - low
        fields = {"rank": ranks[low:high].astype(str).tolist()}
        fields |= {name: texts_or_missing(rows[name], name) for name in ("product_id", "source", "reason", explanation)}
        pieces = [joined_pieces(values, local_starts, local_ends, name) for name, values in fields.items()]
        score_bytes = scores[low:high].tobytes()
        yield from zip(
            *(values[chunk_starts].tolist() for values in key_values),
            *pieces,
            [score_bytes[8 * a : 8 * b] for a, b in zip(local_starts.tolist(), local_ends.tolist(), strict=True)],
            strict=True,
        )


def _texts(joined: str) -> list:
    return [None if value == MISSING else value for value in joined.split(SEPARATOR)]


def unpack_items(ranks: str, products: str, sources: str, reasons: str, explanations: str, scores: bytes) -> list:
    """A stored list as (rank, product_id, score, source, reason, explanation) items, by rank."""
    return list(zip(map(int, ranks.split(SEPARATOR)), products.split(SEPARATOR),
                    np.frombuffer(scores, dtype="<f8").tolist(), sources.split(SEPARATOR), _texts(reasons),
                    _texts(explanations), strict=True))  # fmt: skip
