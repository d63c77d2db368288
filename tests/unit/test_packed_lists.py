"""A list packed into one row reads back exactly: missing values, empty and non-ASCII texts, lists of one item, and
lists cut across conversion chunks; values that would read back wrong are refused by name."""

import numpy as np
import pandas as pd
import pytest

from recsys_assets.core.stores.packed_lists import ListLayoutError, pack_lists, unpack_items

COLUMNS = ["customer_id", "rank", "product_id", "score", "source", "reason", "because"]


def lists() -> pd.DataFrame:
    rows = [
        ("C2", 2, "P-ü", 0.1 + 0.2, "als", None, "[]"),
        ("C1", 1, "P1", 1e-300, "als", "because_you_bought", '["P7", "P8"]'),
        ("C2", 1, "", np.nan, "popularity", "", None),
        ("C3", 1, "P;1,5", -2.5, "knn", "popular_in_segment", '["Zürich ☕"]'),
        ("C1", 2, "P2", 7.0, "als", None, None),
    ]
    return pd.DataFrame(rows, columns=COLUMNS)


@pytest.mark.parametrize("chunk_items", [1, 20, 100_000])  # a list, two lists (~10 items per list), all per chunk
def test_packed_lists_read_back_exactly(chunk_items):
    frame = lists()
    packed = list(pack_lists(frame, ["customer_id"], "because", chunk_items=chunk_items))
    assert [row[0] for row in packed] == ["C1", "C2", "C3"]  # one row per list, by key
    back = {row[0]: unpack_items(*row[1:]) for row in packed}
    assert back["C1"] == [
        (1, "P1", 1e-300, "als", "because_you_bought", '["P7", "P8"]'),
        (2, "P2", 7.0, "als", None, None),
    ]
    [(rank, product, score, source, reason, because), second] = back["C2"]
    assert (rank, product, source, reason, because) == (1, "", "popularity", "", None) and np.isnan(score)
    assert second == (2, "P-ü", 0.1 + 0.2, "als", None, "[]")  # the float exactly, not its text
    assert back["C3"] == [(1, "P;1,5", -2.5, "knn", "popular_in_segment", '["Zürich ☕"]')]


def test_side_lists_are_keyed_by_list_and_key():
    frame = pd.DataFrame(
        {"list": ["similar", "bought_together", "similar"], "key": ["P1", "P1", "P1"], "rank": [2, 1, 1],
         "product_id": ["a", "b", "c"], "score": [0.2, 0.5, 0.9], "source": "x", "reason": "r", "explanation": "e"}
    )  # fmt: skip
    packed = list(pack_lists(frame, ["list", "key"], "explanation"))
    assert [(row[0], row[1], [item[1] for item in unpack_items(*row[2:])]) for row in packed] == [
        ("bought_together", "P1", ["b"]),
        ("similar", "P1", ["c", "a"]),
    ]


@pytest.mark.parametrize(
    ("column", "value", "message"),
    [
        ("product_id", "P\x1f2", r"product_id 'P\\x1f2' holds the separator U\+001F"),
        ("because", "[\x1f]", r"because '\[\\x1f\]' holds the separator U\+001F"),
        ("reason", "\x1e", "a reason holds the character U\\+001E, which stands for a missing value"),
    ],
)
def test_a_text_that_would_read_back_wrong_is_refused_by_name(column, value, message):
    frame = lists()
    frame.loc[3, column] = value
    with pytest.raises(ListLayoutError, match=message):
        list(pack_lists(frame, ["customer_id"], "because"))


def test_nothing_to_pack_gives_no_rows():
    assert list(pack_lists(lists().iloc[:0], ["customer_id"], "because")) == []
