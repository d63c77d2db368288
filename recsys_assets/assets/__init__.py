"""Software-defined assets, one module per concern."""

from .modeling import als_model, model_metrics, train_test_split
from .publishing import published_recommendations, recommendations
from .source import customers, interactions, products, raw_orders

ALL_ASSETS = [
    raw_orders,
    products,
    customers,
    interactions,
    train_test_split,
    als_model,
    model_metrics,
    recommendations,
    published_recommendations,
]
