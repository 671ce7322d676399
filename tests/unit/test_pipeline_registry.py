"""The stage registry: the order and dependencies every other part of the project reads."""

from __future__ import annotations

import pytest

from breweries.pipeline import STAGE_NAMES, STAGES, TABLES, stage, writer


def test_quality_runs_on_silver_before_anything_is_published_from_it() -> None:
    order = list(STAGE_NAMES)
    assert order.index("silver") < order.index("quality") < order.index("silver_anonymized")
    assert order.index("quality") < order.index("gold")
    assert "quality" in stage("silver_anonymized").upstream and "quality" in stage("gold").upstream


def test_audited_output_is_published_only_by_the_gate_that_reads_it() -> None:
    audited = [s.name for s in STAGES if s.audited]
    assert audited == ["bronze", "silver"]
    assert stage("quality").publishes == ("bronze", "silver")
    assert set(stage("quality").publishes) <= set(stage("quality").upstream)
    assert [s.name for s in STAGES if s.publishes] == ["quality"]


def test_every_stage_runs_after_the_stages_it_reads() -> None:
    for position, each in enumerate(STAGES):
        assert set(each.upstream) <= set(STAGE_NAMES[:position]), each.name


def test_a_stage_reads_only_tables_its_upstream_stages_write_or_publish() -> None:
    for each in STAGES:
        for table in each.reads:
            assert writer(table).name in each.upstream or any(
                writer(table).name in stage(u).publishes for u in each.upstream
            ), (each.name, table.identifier)


def test_every_table_has_exactly_one_writer() -> None:
    written = [t for s in STAGES for t in s.writes]
    assert sorted(t.identifier for t in written) == sorted(t.identifier for t in TABLES)
    assert writer(TABLES[0]).name == "silver"


def test_names_are_unique_and_kubernetes_safe_where_kubernetes_needs_it() -> None:
    assert len(set(STAGE_NAMES)) == len(STAGE_NAMES)
    for each in STAGES:
        assert "_" not in each.component and each.image == f"breweries-{each.component}"
    with pytest.raises(KeyError, match="no stage 'platinum'; the stages are bronze, silver"):
        stage("platinum")
