"""The local instance's event log (recsys_assets/instance/event_log.py) keeps its SQLite connections open: what the
UI and Dagster's readers rely on still holds."""

import queue

import pytest
from dagster import AssetKey, DagsterInstance, asset, materialize

from recsys_assets.cli.local_run import INSTANCE_SETTINGS
from recsys_assets.instance.event_log import OPEN_RUN_DATABASES, KeptOpenSqliteEventLogStorage

pytestmark = pytest.mark.slow  # runs the graph's engine (a few tiny runs)


@asset
def a_number() -> int:
    return 1


@pytest.fixture
def local_instance(tmp_path, monkeypatch):
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path))
    (tmp_path / "dagster.yaml").write_text(INSTANCE_SETTINGS.read_text())
    with DagsterInstance.from_config(str(tmp_path)) as instance:
        assert isinstance(instance.event_log_storage, KeptOpenSqliteEventLogStorage)
        yield instance


def test_a_watched_run_sees_new_events_while_its_database_stays_open(local_instance):
    """The UI follows a running run by watching its database; the kept-open connection writes into the WAL file."""
    run_id = materialize([a_number], instance=local_instance).run_id
    seen: queue.Queue = queue.Queue()

    def follow(entry, _cursor):
        seen.put(entry.dagster_event.message if entry.dagster_event else entry.user_message)

    local_instance.event_log_storage.watch(run_id, None, follow)
    try:
        local_instance.report_engine_event("written after the watch began", local_instance.get_run_by_id(run_id))
        messages = []
        while "written after the watch began" not in messages:
            messages.append(seen.get(timeout=15))  # queue.Empty: the watch never woke up
    finally:
        local_instance.event_log_storage.end_watch(run_id, follow)


def test_readers_see_every_run_after_more_runs_than_kept_open_and_a_wipe(local_instance):
    runs = [materialize([a_number], instance=local_instance).run_id for _ in range(OPEN_RUN_DATABASES + 2)]
    # another process (the webserver, say) reads the same files with Dagster's own storage
    with DagsterInstance.from_config(local_instance.root_directory) as reader:
        materializations = reader.fetch_materializations(AssetKey("a_number"), limit=100).records
        assert {record.run_id for record in materializations} == set(runs)
        assert all(reader.all_logs(run_id) for run_id in runs)

    local_instance.wipe()  # deletes the runs' files: no connection may keep writing into a deleted file
    again = materialize([a_number], instance=local_instance).run_id
    assert local_instance.all_logs(again)
    records = local_instance.fetch_materializations(AssetKey("a_number"), limit=100).records
    assert [record.run_id for record in records] == [again]
