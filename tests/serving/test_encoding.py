"""The response encoder writes the same JSON as json.dumps."""

from __future__ import annotations


def test_response_encoder_matches_json_dumps():
    import json

    from recsys_assets.core.stores.store_reader import Lookup, Recommendation
    from recsys_assets.serving.encoding import ResponseEncoder

    products = {"p1": ('Cable "3x1.5" 50 m \\ grau', "Kabel/Leitungen"), "p2": ("Sicherung ü 16 A\n", None)}
    items = (
        Recommendation(1, "p1", 0.1 + 0.2, "als", "because_you_bought", ("p2", "p-unknown")),
        Recommendation(2, "p2", None, "als"),
        Recommendation(3, "p-unknown", 1e-9, "popularity_fallback"),
    )
    lookup = Lookup("C\u00e9-1", "v1-abc", "v1", items, "popularity")
    body, served = ResponseEncoder(products).encode(lookup, 2, "prod")
    expected = {
        "customer_id": "C\u00e9-1",
        "list": "for_you",
        "target": "prod",
        "model_version": "v1",
        "store_version": "v1-abc",
        "group": "model",
        "fallback": "popularity",
        "cold_start": True,
        "k": 2,
        "items": [
            {"rank": 1, "product_id": "p1", "name": products["p1"][0], "category": products["p1"][1],
             "score": 0.1 + 0.2, "source": "als", "reason": "because_you_bought",
             "because": [{"product_id": "p2", "name": products["p2"][0], "category": None},
                         {"product_id": "p-unknown", "name": None, "category": None}], "explanation": None},
            {"rank": 2, "product_id": "p2", "name": products["p2"][0], "category": None, "score": None,
             "source": "als", "reason": None, "because": [], "explanation": None},
        ],
    }  # fmt: skip
    assert json.loads(body) == expected and served == ["p1", "p2"]
    everything, _ = ResponseEncoder(products).encode(lookup, 10, "prod")
    assert json.loads(everything)["items"][2] == {
        "rank": 3, "product_id": "p-unknown", "name": None, "category": None, "score": 1e-9,
        "source": "popularity_fallback", "reason": None, "because": [], "explanation": None,
    }  # fmt: skip
