"""The benchmarks keep working: their --quick modes run here (timings are judged only by `make bench`)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench"

pytestmark = pytest.mark.bench


@pytest.fixture
def quick_bench():
    """Run ``bench/<name>.py --quick ...``; check that a smoke run records nothing in results.md."""
    results_before = (BENCH / "results.md").read_text()

    def run(name: str, *extra: str) -> list[str]:
        result = subprocess.run(
            [sys.executable, BENCH / f"{name}.py", "--quick", *extra],
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert result.returncode == 0, result.stderr[-3000:]
        assert "not judged (--quick)" in result.stdout
        return result.stdout.splitlines()

    yield run
    assert (BENCH / "results.md").read_text() == results_before


def test_extraction_quick_crawls_at_each_concurrency(quick_bench):
    lines = quick_bench("extraction", "--latency", "0.01")
    assert lines[0] == "extraction: 1000 breweries, 10 ms per response"
    assert [line.split()[0] for line in lines[2:6]] == ["1", "2", "4", "8"]


def test_transforms_quick_runs_spark_and_duckdb_on_the_same_synthetic_bronze(quick_bench):
    lines = quick_bench("transforms")
    (row,) = [line.split() for line in lines if line.strip().startswith("2000 ")]
    spark_seconds, duckdb_seconds, ratio = (float(v) for v in row[1:4])
    assert (
        spark_seconds > 0
        and duckdb_seconds > 0
        and ratio == pytest.approx(spark_seconds / duckdb_seconds, rel=0.05)
    )
    assert any("files/partition" in line for line in lines)


def test_whole_run_quick_splits_the_wall_time_by_stage_on_local_folders_and_s3(quick_bench):
    lines = quick_bench("whole_run")
    parts = [line.split()[0] for line in lines[2:9]]
    assert parts == ["spark", "bronze", "silver", "quality", "silver_anonymized", "gold", "process"]
    # Local folders and the S3 server side by side, each part with its ratio.
    assert lines[1].split()[1:4] == ["local", "s", "s3a"]
    summary = next(line for line in lines if line.startswith("s3a run on "))
    assert "reference: bare Spark cold start" in summary


def test_transforms_stands_for_each_engine_by_its_run_of_median_time(monkeypatch):
    monkeypatch.syspath_prepend(str(BENCH))
    from transforms import median_run

    runs = [
        {"seconds": 90.0, "peak_mb": 2000.0, "run": "slow"},
        {"seconds": 70.0, "peak_mb": 2500.0, "run": "fast"},
        {"seconds": 80.0, "peak_mb": 2100.0, "run": "middle"},
    ]
    median = median_run("spark", 1_000_000, runs)
    assert median["run"] == "middle"
    assert median["all_seconds"] == [90.0, 70.0, 80.0]
    # The median run's own peak, so that 5M's and 20M's peaks compare single runs; all are kept.
    assert median["peak_mb"] == 2100.0
    assert median["all_peak_mb"] == [2000, 2500, 2100]
