"""Where the monitors' durable state lives: a folder (local deployment) or a prefix of a Blob container (dev / prod).

In dev and prod the run pods, the sensors' code server and the API pods share no disk: the reports, the drift
caches, the online figures and the alert history must sit in storage all of them reach. A location stores whole
objects by name (`online/2026-06-30.json`), which is all these need:

- writes are whole or absent: a folder file is written under a temporary name and renamed (`files.py`); a block
  blob upload is atomic (readers see the old blob or the new one). Two writers of the same name must write the same
  bytes (caches keyed by content or version) or use names of their own (one blob per alert), never read-modify-write;
- a missing object raises `MissingState`, whose message names the object and where it was looked for, so a reader
  can say "no data yet" instead of reading a zero.

No Dagster import: the serving API reads these too. The serving log keeps its own append-blob location
(`serving_log_location.py`): it is appended to line by line, not written whole.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Protocol

from .files import write_atomically


class MissingState(FileNotFoundError):
    """A piece of state that is not there (yet): the message names it and the location it was looked for in."""


class StateLocation(Protocol):
    def describe(self) -> str:
        """Where this is, for messages (a folder path, or the container and prefix)."""
        ...

    def read_bytes(self, name: str) -> bytes:
        """The object `name`; MissingState when there is none."""
        ...

    def write_bytes(self, name: str, data: bytes) -> str:
        """Store `data` as `name` (whole or not at all); returns its `label`."""
        ...

    def exists(self, name: str) -> bool: ...

    def names(self, prefix: str = "") -> list[str]:
        """The names of the objects directly in the sub-folder `prefix` ("" : this location), sorted."""
        ...

    def folders(self, prefix: str = "") -> list[str]:
        """The sub-folders directly in the sub-folder `prefix`, as names relative to this location, sorted."""
        ...

    def delete(self, name: str) -> None:
        """Remove `name` (nothing when absent)."""
        ...

    def child(self, prefix: str) -> StateLocation:
        """The location of the sub-folder `prefix`."""
        ...

    def label(self, name: str) -> str:
        """Where `name` is, for people: a file path, or `<container>/<blob name>`."""
        ...

    def link(self, name: str) -> str:
        """A URL of `name`: a file:// URI, or the blob's URL (which needs the storage account's credentials)."""
        ...


def _join(*parts: str) -> str:
    return "/".join(part.strip("/") for part in parts if part and part.strip("/"))


class FolderState:
    """Files under a folder; sub-folders for prefixes."""

    def __init__(self, folder: str | Path):
        self.folder = Path(folder)

    def describe(self) -> str:
        return str(self.folder)

    def _path(self, name: str) -> Path:
        return self.folder / name

    def read_bytes(self, name: str) -> bytes:
        try:
            return self._path(name).read_bytes()
        except FileNotFoundError as error:
            raise MissingState(f"no {name} in {self.describe()}") from error

    def write_bytes(self, name: str, data: bytes) -> str:
        return str(write_atomically(self._path(name), data))

    def exists(self, name: str) -> bool:
        return self._path(name).is_file()

    def names(self, prefix: str = "") -> list[str]:
        folder = self._path(prefix) if prefix else self.folder
        if not folder.is_dir():
            return []
        # dot files are the temporary files of writers (write_atomically)
        found = [path for path in folder.iterdir() if path.is_file() and not path.name.startswith(".")]
        return sorted(_join(prefix, path.name) for path in found)

    def folders(self, prefix: str = "") -> list[str]:
        folder = self._path(prefix) if prefix else self.folder
        if not folder.is_dir():
            return []
        return sorted(_join(prefix, path.name) for path in folder.iterdir() if path.is_dir())

    def delete(self, name: str) -> None:
        self._path(name).unlink(missing_ok=True)

    def child(self, prefix: str) -> FolderState:
        return FolderState(self._path(prefix))

    def label(self, name: str) -> str:
        return str(self._path(name))

    def link(self, name: str) -> str:
        return self._path(name).resolve().as_uri()


class BlobState:
    """Block blobs `<prefix>/<name>` of a container (an azure-storage-blob ContainerClient).

    The container is created by the first write; reading from a container that does not exist is MissingState."""

    def __init__(self, container_client, prefix: str = ""):
        self.container = container_client
        self.prefix = prefix.strip("/")
        self._container_ready = False

    def describe(self) -> str:
        return f"blob container {self.container.container_name!r}, prefix {self.prefix}/"

    def _blob(self, name: str) -> str:
        return _join(self.prefix, name)

    def read_bytes(self, name: str) -> bytes:
        from azure.core.exceptions import ResourceNotFoundError

        try:
            return self.container.download_blob(self._blob(name)).readall()
        except ResourceNotFoundError as error:  # the blob, or the whole container
            raise MissingState(f"no {name} in {self.describe()}") from error

    def write_bytes(self, name: str, data: bytes) -> str:
        from azure.core.exceptions import ResourceExistsError

        if not self._container_ready:
            with contextlib.suppress(ResourceExistsError):
                self.container.create_container()
            self._container_ready = True
        # one Put Blob (up to 5 000 MiB) or, for large data, staged blocks committed at once: atomic either way
        self.container.upload_blob(self._blob(name), data, overwrite=True)
        return self.label(name)

    def exists(self, name: str) -> bool:
        return self.container.get_blob_client(self._blob(name)).exists()

    def names(self, prefix: str = "") -> list[str]:
        from azure.core.exceptions import ResourceNotFoundError

        start = _join(self.prefix, prefix)
        start = f"{start}/" if start else ""
        try:
            blobs = [blob.name for blob in self.container.list_blobs(name_starts_with=start)]
        except ResourceNotFoundError:  # no container yet: nothing written
            return []
        own = len(self.prefix) + 1 if self.prefix else 0
        return sorted(name[own:] for name in blobs if "/" not in name[len(start) :])

    def folders(self, prefix: str = "") -> list[str]:
        from azure.core.exceptions import ResourceNotFoundError

        start = _join(self.prefix, prefix)
        start = f"{start}/" if start else ""
        own = len(self.prefix) + 1 if self.prefix else 0
        try:  # with a delimiter the listing answers the next level's prefixes (BlobPrefix, named "<...>/")
            items = list(self.container.walk_blobs(name_starts_with=start, delimiter="/"))
        except ResourceNotFoundError:
            return []
        return sorted(item.name[own:].rstrip("/") for item in items if item.name.endswith("/"))

    def delete(self, name: str) -> None:
        from azure.core.exceptions import ResourceNotFoundError

        with contextlib.suppress(ResourceNotFoundError):
            self.container.delete_blob(self._blob(name))

    def child(self, prefix: str) -> BlobState:
        child = BlobState(self.container, _join(self.prefix, prefix))
        child._container_ready = self._container_ready
        return child

    def label(self, name: str) -> str:
        return f"{self.container.container_name}/{self._blob(name)}"

    def link(self, name: str) -> str:
        return self.container.get_blob_client(self._blob(name)).url


def as_state(location: str | Path | StateLocation) -> StateLocation:
    """A folder given as a path becomes a FolderState; a location is returned as it is."""
    return FolderState(location) if isinstance(location, str | Path) else location
