"""What the History Server shows of a run: each Spark application's name, and the event log's place
as a setting, checked before Spark starts."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from breweries.connector import jar_groups
from breweries.errors import SettingsError
from breweries.pipeline import STAGES, stage
from breweries.runner import application_name, spark_in_driver, uses_spark
from breweries.settings import Settings
from breweries.spark import event_log_conf, event_log_problem

DAY = date(2026, 7, 15)


def test_a_stages_application_is_named_by_stage_date_and_workflow() -> None:
    in_workflow = Settings(workflow_name="breweries-x7k2p")
    assert application_name(in_workflow, DAY, ["silver"]) == "breweries-silver-2026-07-15-breweries-x7k2p"
    assert application_name(Settings(), DAY, ["gold"]) == "breweries-gold-2026-07-15"
    # A local run of several stages is one application.
    assert application_name(Settings(), DAY, [s.name for s in STAGES]) == "breweries-2026-07-15"


def test_only_bronze_does_no_spark_work_and_a_submitted_bronze_never_waits_for_executors(tmp_path) -> None:
    assert [s.name for s in STAGES if not uses_spark(s)] == ["bronze"]
    submitted = Settings(storage_root=str(tmp_path), spark_submitted=True, spark_executors_above="0")
    # Always on executors (threshold 0), except a stage whose session is its event log alone.
    assert spark_in_driver(submitted, DAY, ["bronze"]) is True
    assert spark_in_driver(submitted, DAY, ["silver"]) is False
    assert uses_spark(stage("quality"))


def test_the_event_log_place_is_a_storage_uri_and_on_s3_brings_the_s3a_connector(tmp_path: Path) -> None:
    local = Settings(storage_root=str(tmp_path), spark_event_log_uri=str(tmp_path / "events"))
    assert local.spark_event_log_uri == f"file://{tmp_path}/events" and not local.uses_s3a
    # The History Server has no layers: the event log alone makes it an S3A reader.
    on_s3 = Settings(storage_root=str(tmp_path), spark_event_log_uri="s3://events")
    assert on_s3.spark_event_log_uri == "s3a://events" and on_s3.uses_s3a
    assert jar_groups(on_s3) == ["tables", "s3a"]
    with pytest.raises(SettingsError, match="BREWERIES_SPARK_EVENT_LOG_URI"):
        Settings(spark_event_log_uri="s3a://")


def test_a_local_folder_is_made_for_spark_and_one_that_cannot_be_turns_the_log_off(tmp_path: Path) -> None:
    events = tmp_path / "spark" / "events"
    settings = Settings(storage_root=str(tmp_path / "data"), spark_event_log_uri=str(events))
    assert event_log_problem(settings, write=False) == "no such folder"
    assert event_log_conf(settings) == {
        "spark.eventLog.enabled": "true",
        "spark.eventLog.dir": f"file://{events}",
    }
    assert events.is_dir()
    (tmp_path / "a-file").write_text("")
    under_a_file = Settings(
        storage_root=str(tmp_path / "data"), spark_event_log_uri=str(tmp_path / "a-file" / "x")
    )
    assert event_log_conf(under_a_file) == {}
    assert event_log_problem(under_a_file, write=True) == "Not a directory"
