"""Give memory that a finished step freed back to the operating system, when there is much of it.

The steps of a run share one process (the in-process executor), and a step at scale frees gigabytes: glibc keeps
freed heap pages for later allocations (and Arrow's allocator its own pool), so the process' resident memory stayed
near the high-water mark of the largest step before it. Trimming is not free (the pages a later step needs are
faulted in again: 1-3 s over the whole graph at 1 M order lines), so the heap is trimmed only when at least
`TRIM_ABOVE_BYTES` of it sit free.
"""

from __future__ import annotations

import ctypes
import ctypes.util
from functools import cache

TRIM_ABOVE_BYTES = 512 * 2**20


class _MallInfo2(ctypes.Structure):
    _fields_ = [
        (name, ctypes.c_size_t)
        for name in (
            "arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks", "fordblks", "keepcost"
        )
    ]  # fmt: skip


@cache
def _glibc():
    """The C library when it is glibc 2.33+ (malloc_trim and mallinfo2), else None (macOS, musl: nothing to do)."""
    name = ctypes.util.find_library("c")
    try:
        library = ctypes.CDLL(name) if name else None
    except OSError:
        return None
    if library is None or not all(hasattr(library, f) for f in ("malloc_trim", "mallinfo2")):
        return None
    library.mallinfo2.restype = _MallInfo2
    return library


def free_heap_bytes() -> int | None:
    """Bytes glibc holds free in its heap for reuse (None when this is not glibc)."""
    libc = _glibc()
    return None if libc is None else int(libc.mallinfo2().fordblks)


def release_freed_memory(trim_above: int = TRIM_ABOVE_BYTES) -> bool:
    """Return Arrow's unused pool pages, and glibc's free heap pages when more than `trim_above` bytes are free.
    True when the heap was trimmed."""
    import pyarrow as pa

    pa.default_memory_pool().release_unused()
    free = free_heap_bytes()
    if free is None or free < trim_above:
        return False
    _glibc().malloc_trim(0)
    return True
