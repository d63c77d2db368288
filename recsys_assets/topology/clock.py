"""A process's wall clock set back whole days (libfaketime), for the topology test's serving APIs only.

The daily partitions end with yesterday, so servings stamped today cannot be measured by `online_metrics`; APIs whose
wall clock runs a day behind log their servings into yesterday's partition. libfaketime (Debian's `faketime`,
installed by `make faketime`) is preloaded into the process: `time.time()` and the dates shift, the monotonic clock
stays real (FAKETIME_DONT_FAKE_MONOTONIC) so asyncio's, uvicorn's and the threads' timeouts run in real time.
Azurite and the Cosmos DB emulator accept the shifted x-ms-date of the requests.

Known limit of libfaketime 0.9.10 (Debian bookworm, wolfcw/libfaketime#426): with the monotonic clock left real,
Python 3.11's `time.sleep` fails with EINVAL, whatever the duration (it sleeps until an absolute monotonic time with
clock_nanosleep, which the library shifts anyway). Faking the monotonic clock as well is worse: it makes
`threading.Event.wait(timeout)` hang (sem_clockwait is not intercepted), and the serving log's writer thread waits
so. The API's own code does not sleep (its log writer yields with os.sched_yield); an Azure SDK's retry back-off
does, so a store failing under the test would show up as that EINVAL in the API's log.
"""

from __future__ import annotations

import glob

LIBRARY_PATTERNS = ("/usr/lib/*/faketime/libfaketime.so.1", "/usr/lib/faketime/libfaketime.so.1")


def libfaketime() -> str:
    for pattern in LIBRARY_PATTERNS:
        if found := sorted(glob.glob(pattern)):
            return found[0]
    raise RuntimeError("libfaketime is missing: run `make faketime` (Debian's faketime package)")


def clock_behind_env(days: int) -> dict[str, str]:
    """The environment that starts a process with its wall clock `days` days behind ({} for 0: the real clock)."""
    if days == 0:
        return {}
    return {"LD_PRELOAD": libfaketime(), "FAKETIME": f"-{days}d", "FAKETIME_DONT_FAKE_MONOTONIC": "1"}
