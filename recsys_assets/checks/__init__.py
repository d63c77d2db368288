"""Every asset check: the Great Expectations data suites, the model gate, and the freshness of the published lists."""

from .data_suites import DATA_SUITES
from .freshness import freshness_checks
from .model_gate import model_gate

ALL_CHECKS = [*DATA_SUITES, model_gate, *freshness_checks]
