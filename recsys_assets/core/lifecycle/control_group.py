"""The control group: a stable share of customers served the popularity list instead of the model's list.

Assignment is a pure function of the customer id and a salt: the first 8 bytes of
`sha256("<salt>:<customer_id>")` read as an unsigned integer and divided by 2**64 give a number `u` uniform in
[0, 1); the customer is in the control group when `u < share`. So
- it is stable across restarts, processes and machines (no state to keep or lose);
- raising `share` only adds customers to the control group (whoever was in stays in);
- a new salt draws a new, independent group (use it to start a fresh experiment).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

CONTROL = "control"
MODEL = "model"


def assignment_value(customer_id: str, salt: str) -> float:
    """The customer's position in [0, 1) for `salt` (see the module docstring)."""
    digest = hashlib.sha256(f"{salt}:{customer_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


@dataclass(frozen=True)
class ControlGroup:
    """`share` of the customers (0 = no control group, at most 0.5) chosen by the salted hash of their id."""

    share: float = 0.0
    salt: str = "recsys-control-1"

    def __post_init__(self) -> None:
        if not 0.0 <= self.share <= 0.5:
            raise ValueError(f"the control group share must lie in [0, 0.5], got {self.share}")
        if not self.salt:
            raise ValueError("the control group salt must not be empty")

    def group_of(self, customer_id: str) -> str:
        """`control` or `model`."""
        if self.share <= 0.0:
            return MODEL
        return CONTROL if assignment_value(customer_id, self.salt) < self.share else MODEL
