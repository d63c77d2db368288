import numpy as np
import pandas as pd

from recsys_assets.core.modeling.matrix import IdMap, order_counts


def test_index_of_finds_known_ids_in_any_string_form_and_marks_unknown_or_missing_ones():
    ids = IdMap.from_values(pd.Series(["P2", "P1", "10"]))  # sorted: "10", "P1", "P2"
    arrow = pd.Series(["P1", "P9", None, "P2", "P1"], dtype=pd.StringDtype("pyarrow"))
    assert ids.index_of(arrow).tolist() == [1, -1, -1, 2, 1]
    assert ids.index_of(np.array([10, 11])).tolist() == [0, -1]  # numbers are looked up by their text
    assert ids.index_of(["P2"]).tolist() == [2]
    assert ids.index_of(pd.Series([], dtype=object)).tolist() == []


def test_order_counts_leave_out_unknown_ids_and_add_repeated_pairs():
    interactions = pd.DataFrame(
        {"customer_id": ["C1", "C1", "C2", "C3"], "product_id": ["P1", "P1", "P2", "P1"]}, dtype="string"
    )
    users, items = IdMap.from_values(pd.Series(["C1", "C2"])), IdMap.from_values(pd.Series(["P1", "P2"]))
    assert order_counts(interactions, users, items).toarray().tolist() == [[2.0, 0.0], [0.0, 1.0]]
