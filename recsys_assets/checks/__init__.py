"""Every asset check: the Great Expectations data suites, the order volume, the model gate, the freshness of the
published lists, and the online comparison of the model with the control group."""

from .data_suites import DATA_SUITES
from .freshness import freshness_checks
from .model_gate import model_gate
from .online import model_beats_control
from .rule_suite import business_rules_suite
from .volume import raw_orders_volume

ALL_CHECKS = [*DATA_SUITES, business_rules_suite, raw_orders_volume, model_gate, *freshness_checks, model_beats_control]
