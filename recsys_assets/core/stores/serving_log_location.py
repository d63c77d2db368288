"""Where the serving log lives: a folder (local deployment) or append blobs in a Blob container (dev / prod).

In dev and prod the API pods and the run pods share no disk, so the log the API writes must sit in storage both
reach. Blob append blobs rather than a Cosmos container: the log is written as whole JSON lines and read back as
whole days by the monitors (never queried by field), an append is one cheap call per batch, and the folder's layout
(day files, JSON lines, the synthetic split) carries over unchanged. Each writer (API process) appends only to its
own blobs, `<prefix>/<YYYY-MM-DD>/<host>-<pid>-<HH>.jsonl`, so no two processes append to the same blob and lines
never interleave; synthetic traffic goes under `<prefix>/synthetic/...`, which the monitors never read.

A location offers what `serving_log.py` needs and nothing more: its day parts (opaque: a file path or a blob
name) for a day range, the text of a part, appending lines for a day and hour, its synthetic sibling, and words
for messages (`describe`, `hint`: never a key).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import socket
from pathlib import Path
from typing import Protocol

SYNTHETIC_FOLDER = "synthetic"

# what to do when the folder the monitors read is not the one the API writes
SHARED_STORAGE_HINT = (
    "the API writes it; in a deployment where the API and the runs share no disk, point RECSYS_SERVING_LOG_DIR "
    "(or the monitoring resource's serving_log_dir) at storage both can reach"
)
BLOB_HINT = (
    "the API writes it there when RECSYS_DEPLOYMENT is dev or prod and AZURE_STORAGE_ACCOUNT_URL is set; check that "
    "the API and the runs use the same storage account and AZURE_STORAGE_CONTAINER"
)
# an append blob block holds at most 4 MiB
MAX_BLOCK = 4 * 1024 * 1024


class ServingLogLocation(Protocol):
    hint: str

    def describe(self) -> str: ...

    def exists(self) -> bool: ...

    def parts(self) -> list[tuple[dt.date, object]]:
        """Every (day, part) of the log, oldest day first."""
        ...

    def label(self, part) -> str: ...

    def read_text(self, part) -> str: ...

    def size(self, part) -> int: ...

    def append(self, day: dt.date, hour: int, text: str) -> None: ...

    def synthetic(self) -> ServingLogLocation: ...

    def child(self, name: str) -> ServingLogLocation:
        """A log of its own next to this one's day parts (never read as serving log): e.g. the fold-in log."""
        ...


class FolderLog:
    """Day files `<folder>/YYYY-MM-DD.jsonl` (the hour plays no part: one file per day)."""

    hint = SHARED_STORAGE_HINT

    def __init__(self, folder: str | Path):
        self.folder = Path(folder)

    def describe(self) -> str:
        return str(self.folder)

    def exists(self) -> bool:
        return self.folder.is_dir()

    def parts(self) -> list[tuple[dt.date, Path]]:
        paths = sorted(self.folder.glob("*.jsonl")) if self.folder.exists() else []
        return [(dt.date.fromisoformat(path.stem), path) for path in paths]

    def label(self, part: Path) -> str:
        return part.name

    def read_text(self, part: Path) -> str:
        return part.read_text(encoding="utf-8", errors="replace")

    def size(self, part: Path) -> int:
        return part.stat().st_size

    def append(self, day: dt.date, hour: int, text: str) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        with (self.folder / f"{day.isoformat()}.jsonl").open("a", encoding="utf-8") as handle:
            handle.write(text)

    def synthetic(self) -> FolderLog:
        return self.child(SYNTHETIC_FOLDER)

    def child(self, name: str) -> FolderLog:
        return FolderLog(self.folder / name)


def default_writer_id() -> str:
    """This process's name in blob names: the pod's host name and the process id (one writer per blob)."""
    return f"{socket.gethostname()}-{os.getpid()}"


class BlobLog:
    """Append blobs `<prefix>/<YYYY-MM-DD>/<writer>-<HH>.jsonl` of a container (azure-storage-blob ContainerClient).

    The container is created on the first append; the readers report a missing one like a missing folder.
    """

    hint = BLOB_HINT

    def __init__(self, container_client, prefix: str = "serving-log", writer_id: str | None = None):
        self.container = container_client
        self.prefix = prefix.strip("/")
        self.writer_id = writer_id or default_writer_id()
        self._created: set[str] = set()  # blobs this writer has created (or found existing)
        self._container_ready = False
        self._sizes: dict[str, int] = {}  # blob sizes seen by the latest listing (saves a request per blob)

    def describe(self) -> str:
        return f"blob container {self.container.container_name!r}, prefix {self.prefix}/"

    def exists(self) -> bool:
        return self.container.exists()

    def parts(self) -> list[tuple[dt.date, str]]:
        if not self.exists():
            return []
        found = []
        for blob in self.container.list_blobs(name_starts_with=f"{self.prefix}/"):
            folder, _, name = blob.name[len(self.prefix) + 1 :].partition("/")
            if "/" in name or not name.endswith(".jsonl"):
                continue  # the synthetic sibling and anything else not a day's part
            try:
                day = dt.date.fromisoformat(folder)
            except ValueError:
                continue
            found.append((day, blob.name))
            self._sizes[blob.name] = blob.size
        return sorted(found)

    def label(self, part: str) -> str:
        return part

    def read_text(self, part: str) -> str:
        return self.container.download_blob(part).readall().decode("utf-8", errors="replace")

    def size(self, part: str) -> int:
        if part in self._sizes:
            return self._sizes[part]
        return self.container.get_blob_client(part).get_blob_properties().size

    def append(self, day: dt.date, hour: int, text: str) -> None:
        from azure.core.exceptions import ResourceExistsError

        if not self._container_ready:
            with contextlib.suppress(ResourceExistsError):
                self.container.create_container()
            self._container_ready = True
        name = f"{self.prefix}/{day.isoformat()}/{self.writer_id}-{hour:02d}.jsonl"
        blob = self.container.get_blob_client(name)
        if name not in self._created:
            # if_none_match: never truncate a blob that exists (create_append_blob would replace it)
            with contextlib.suppress(ResourceExistsError):
                blob.create_append_blob(if_none_match="*")
            self._created.add(name)
        data = text.encode("utf-8")
        for start in range(0, len(data), MAX_BLOCK):  # batches are far smaller; whole lines in practice
            blob.append_block(data[start : start + MAX_BLOCK])

    def synthetic(self) -> BlobLog:
        return self.child(SYNTHETIC_FOLDER)

    def child(self, name: str) -> BlobLog:
        return BlobLog(self.container, f"{self.prefix}/{name}", self.writer_id)


def as_location(log: str | Path | ServingLogLocation) -> ServingLogLocation:
    """A folder given as a path becomes a FolderLog; a location is returned as it is."""
    return FolderLog(log) if isinstance(log, str | Path) else log
