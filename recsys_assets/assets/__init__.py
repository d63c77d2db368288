"""Software-defined assets, one module per UI group: source, preparation, modeling, publishing, monitoring."""

from .modeling import als_model, model_metrics, train_test_split
from .monitoring import drift_report, online_metrics, prediction_drift_report, skew_report
from .preparation import interactions
from .publishing import published_recommendations, recommendations
from .rules import business_rules
from .shop_lists import buy_again_lists, related_lists
from .source import customers, products, raw_orders

ALL_ASSETS = [
    raw_orders,
    products,
    customers,
    business_rules,
    interactions,
    train_test_split,
    als_model,
    model_metrics,
    recommendations,
    buy_again_lists,
    related_lists,
    published_recommendations,
    drift_report,
    skew_report,
    prediction_drift_report,
    online_metrics,
]
