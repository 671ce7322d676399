"""The stage registry: the order and dependencies every other part of the project reads."""

from __future__ import annotations

import pytest

from breweries.pipeline import STAGE_NAMES, STAGES, stage, stages_from


def test_quality_runs_on_silver_before_anything_is_published_from_it() -> None:
    order = list(STAGE_NAMES)
    assert order.index("silver") < order.index("quality") < order.index("silver_anonymized")
    assert order.index("quality") < order.index("gold")
    assert "quality" in stage("silver_anonymized").upstream and "quality" in stage("gold").upstream


def test_every_stage_runs_after_the_stages_it_reads() -> None:
    for position, each in enumerate(STAGES):
        assert set(each.upstream) <= set(STAGE_NAMES[:position]), each.name


def test_names_are_unique_and_kubernetes_safe_where_kubernetes_needs_it() -> None:
    assert len(set(STAGE_NAMES)) == len(STAGE_NAMES)
    for each in STAGES:
        assert "_" not in each.component and each.image == f"breweries-{each.component}"


def test_tables_are_partitioned_by_columns_of_their_schema() -> None:
    for each in STAGES:
        if each.partition_columns:
            assert each.schema is not None
            assert set(each.partition_columns) <= set(each.schema.names), each.name


def test_rerunning_a_stage_makes_it_and_every_later_stage_stale() -> None:
    assert [s.name for s in stages_from("quality")] == ["quality", "silver_anonymized", "gold"]
    with pytest.raises(KeyError, match="no stage 'platinum'; the stages are bronze, silver"):
        stage("platinum")
