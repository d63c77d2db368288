"""Freed memory goes back to the OS after a step, when much of it sits free (core/memory.py)."""

import os

import numpy as np
import pytest

from recsys_assets.core.memory import free_heap_bytes, release_freed_memory


def resident_bytes() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


@pytest.mark.skipif(free_heap_bytes() is None, reason="not glibc: nothing to trim")
def test_free_heap_goes_back_to_the_os_only_above_the_threshold():
    chunks = [np.ones(1_000) for _ in range(100_000)]  # 8 kB each: from the heap, not mmap
    del chunks
    free, resident = free_heap_bytes(), resident_bytes()
    assert free > 500 * 2**20
    assert release_freed_memory(trim_above=2 * free) is False
    assert resident_bytes() > resident - 100 * 2**20  # kept for reuse
    assert release_freed_memory(trim_above=free // 2) is True
    assert resident_bytes() < resident - free // 2  # most of it returned
