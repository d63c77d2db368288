"""The local instance's event log: Dagster's SQLite event log with its connections kept open.

Dagster's SQLite event log opens and closes a connection for every event it stores, and writes each asset event
twice: into the run's own database and into the cross-run index (`index.db`). Closing the last connection of a
WAL database checkpoints it, so every asset event paid two connections, two checkpoints and their fsyncs. A daily
partition costs two asset events (planned, materialized): a 3-year order history ~2 200 of them, about 85 % of a
`recsys materialize`. Here each database keeps one connection open (the index always, the runs' databases for the
few most recent runs), so a checkpoint happens once per ~1 000 pages, and commits skip the per-transaction fsync
(`synchronous=NORMAL`: in WAL mode a crash of the process loses nothing; a power cut may lose the last
transactions and never corrupts the file).

The UI follows a running run by watching its database file for changes; with the connection kept open the
changes land in the WAL file first, so the watch here also follows `<run>.db-wal`.
"""

from __future__ import annotations

import os
import sqlite3
from collections import OrderedDict
from contextlib import contextmanager
from pathlib import Path

from dagster import Field, StringSource
from dagster._core.storage.event_log.sqlite.sqlite_event_log import (
    INDEX_SHARD_NAME,
    SqliteEventLogStorage,
    SqliteEventLogStorageWatchdog,
)
from dagster._core.storage.sql import create_engine
from dagster._core.storage.sqlite import SQLITE_BUSY_TIMEOUT_SECONDS
from dagster._serdes import ConfigurableClassData
from sqlalchemy import event
from sqlalchemy.engine import Engine
from watchdog.events import FileSystemEvent
from watchdog.observers import Observer

OPEN_RUN_DATABASES = 4  # runs whose database stays open in this process (the index always does)


def _commit_without_fsync(dbapi_connection, _record) -> None:
    if isinstance(dbapi_connection, sqlite3.Connection):
        dbapi_connection.execute("PRAGMA synchronous=NORMAL")


class _RunFileWatch(SqliteEventLogStorageWatchdog):
    """Dagster's watch of a run's database, also woken by its WAL file (where kept-open connections write)."""

    def __init__(self, event_log_storage, run_id, callback, cursor, **kwargs):
        super().__init__(event_log_storage, run_id, callback, cursor, **kwargs)
        self._patterns = [self._log_path, f"{self._log_path}-wal"]

    def on_modified(self, event: FileSystemEvent) -> None:
        self._process_log()


class KeptOpenSqliteEventLogStorage(SqliteEventLogStorage):
    """`SqliteEventLogStorage` (same files, same schema, same readers) that keeps its connections open.

    Configured in `recsys_assets/instance/dagster.yaml`; `base_dir` defaults to Dagster's own place for the event
    log, `$DAGSTER_HOME/history/runs`."""

    def __init__(self, base_dir: str | None = None, inst_data: ConfigurableClassData | None = None):
        self._engines: OrderedDict[str, Engine] = OrderedDict()
        super().__init__(base_dir or str(Path(os.environ["DAGSTER_HOME"]) / "history" / "runs"), inst_data)

    @classmethod
    def config_type(cls):
        return {"base_dir": Field(StringSource, is_required=False)}

    @classmethod
    def from_config_value(cls, inst_data, config_value):
        return cls(inst_data=inst_data, **config_value)

    def _engine(self, shard: str) -> Engine:
        engine = self._engines.get(shard)
        if engine is None:
            engine = create_engine(
                self.conn_string_for_shard(shard), connect_args={"timeout": SQLITE_BUSY_TIMEOUT_SECONDS}
            )
            event.listen(engine, "connect", _commit_without_fsync)
            self._engines[shard] = engine
            runs = [name for name in self._engines if name != INDEX_SHARD_NAME]
            for oldest in runs[: max(0, len(runs) - OPEN_RUN_DATABASES)]:
                self._engines.pop(oldest).dispose()
        self._engines.move_to_end(shard)
        return engine

    @contextmanager
    def _connect(self, shard: str):
        with self._db_lock:
            engine = self._engine(shard)
            if shard not in self._initialized_dbs:
                self._initdb(engine)
                self._initialized_dbs.add(shard)
            with engine.connect() as connection, connection.begin():
                yield connection

    def _close_all(self) -> None:
        with self._db_lock:
            while self._engines:
                self._engines.popitem()[1].dispose()

    def wipe(self) -> None:
        self._close_all()  # the run databases are deleted: no connection may keep writing into a deleted file
        super().wipe()

    def watch(self, run_id, cursor, callback) -> None:
        if not self._obs:
            self._obs = Observer()
            self._obs.start()
        watchdog = _RunFileWatch(self, run_id, callback, cursor)
        self._watchers[run_id][callback] = (watchdog, self._obs.schedule(watchdog, self._base_dir, recursive=True))

    def dispose(self) -> None:
        super().dispose()
        self._close_all()
