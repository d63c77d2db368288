"""Named fail points for the fault-matrix tests: SIGKILL this process at a chosen point of a write.

`RECSYS_FAILPOINT=<name>` (or `<name>:<n>`, the n-th time the point is reached) kills the process there with
SIGKILL, the way an out-of-memory killer or a lost node stops a run: no clean-up code runs. Unset, a fail point
costs one dictionary lookup. The points sit in the middle of every write the product must survive (see the docs'
Reliability reference).
"""

from __future__ import annotations

import os
import signal
from collections import Counter

FAILPOINT_ENV = "RECSYS_FAILPOINT"
_hits: Counter = Counter()


def failpoint(name: str) -> None:
    """Kill this process with SIGKILL if `RECSYS_FAILPOINT` names this point (and its hit count is reached)."""
    wanted = os.environ.get(FAILPOINT_ENV)
    if not wanted:
        return
    point, _, count = wanted.partition(":")
    if point != name:
        return
    _hits[name] += 1
    if _hits[name] >= int(count or 1):
        os.kill(os.getpid(), signal.SIGKILL)
