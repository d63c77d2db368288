"""Freed memory goes back to the OS after a step, when much of it sits free (core/memory.py).

The heap is measured in a fresh interpreter: glibc's figures are those of the main thread's arena, and the test
process (a pytest-xdist worker, earlier tests' leftovers) is no clean heap to measure."""

import subprocess
import sys
import textwrap

import pytest

from recsys_assets.core.memory import free_heap_bytes

FREED_THEN_TRIMMED = textwrap.dedent(
    """
    import os

    import numpy as np

    from recsys_assets.core.memory import free_heap_bytes, release_freed_memory


    def resident_bytes() -> int:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


    chunks = [np.ones(1_000) for _ in range(100_000)]  # 8 kB each: from the heap, not mmap
    del chunks
    free, resident = free_heap_bytes(), resident_bytes()
    assert free > 500 * 2**20, free
    assert release_freed_memory(trim_above=2 * free) is False
    assert resident_bytes() > resident - 100 * 2**20  # kept for reuse
    assert release_freed_memory(trim_above=free // 2) is True
    assert resident_bytes() < resident - free // 2  # most of it returned
    print("trimmed", free)
    """
)


@pytest.mark.skipif(free_heap_bytes() is None, reason="not glibc: nothing to trim")
def test_free_heap_goes_back_to_the_os_only_above_the_threshold():
    result = subprocess.run([sys.executable, "-c", FREED_THEN_TRIMMED], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0 and "trimmed" in result.stdout, result.stdout + result.stderr
