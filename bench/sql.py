"""SQL on the tables: `breweries sql` (PyIceberg + DuckDB, no JVM) on gold of the bundled snapshot.

Each engine runs as a cold process, as a user's command does, five times; the median stands. The
reference, measured in the same run, is DuckDB reading gold's Parquet files directly (no catalog,
no Iceberg metadata); Spark SQL through the same catalog is timed once, for the choice of engine.

    python bench/sql.py [--quick]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
from pathlib import Path

from record import conclude, timed

BIN = Path(sys.executable).parent
RUN_DATE = "2026-01-01"
TARGET_SECONDS = 3.0
QUERY = (
    "SELECT country, sum(brewery_count) AS breweries FROM {gold} WHERE snapshot_date = DATE '{day}' "
    "GROUP BY country ORDER BY breweries DESC, country LIMIT 5"
)
# Iceberg keeps the partition columns in the data files too: the folder names (escaped, e.g.
# country=United+States) are not read as values.
DUCKDB_DIRECT = """
import duckdb, json, sys
files = sys.argv[1] + "/gold/breweries_by_type_location/data/**/*.parquet"
gold = f"read_parquet('{files}', hive_partitioning = false)"
print(json.dumps(duckdb.sql(sys.argv[2].format(gold=gold, day=sys.argv[3])).fetchall()))
"""
SPARK_SQL = """
import json, sys
from breweries.lake.commits import Lake
from breweries.settings import Settings
from breweries.spark import build_spark_session
from breweries.stages.gold import GOLD
settings = Settings(storage_root=sys.argv[1])
spark = build_spark_session(settings, "bench-sql")
gold = Lake(spark, settings).name(GOLD)
rows = spark.sql(sys.argv[2].format(gold=gold, day=sys.argv[3])).collect()
print(json.dumps([list(r) for r in rows]))
spark.stop()
"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="two runs each, nothing recorded")
    args = parser.parse_args()
    runs = 2 if args.quick else 5
    with tempfile.TemporaryDirectory() as root:
        timed([str(BIN / "breweries"), "demo", "--storage-root", root, "--date", RUN_DATE])
        ours, direct = [], []
        for _ in range(runs):  # alternating, so that a busy machine slows both alike
            seconds, out = timed(
                [str(BIN / "breweries"), "sql", "--format", "json", "--storage-root", root,
                 QUERY.format(gold="gold.breweries_by_type_location", day=RUN_DATE)]
            )  # fmt: skip
            ours.append(seconds)
            answer = [list(row.values()) for row in json.loads(out)]
            seconds, out = timed([sys.executable, "-c", DUCKDB_DIRECT, root, QUERY, RUN_DATE])
            direct.append(seconds)
            if json.loads(out) != answer:
                raise SystemExit(f"the answers differ: {answer} and {out}")
        spark_seconds, out = timed([sys.executable, "-c", SPARK_SQL, root, QUERY, RUN_DATE])
        if json.loads(out) != answer:
            raise SystemExit(f"Spark SQL's answer differs: {answer} and {out}")
    median, reference = statistics.median(ours), statistics.median(direct)
    print(f"gold query, cold processes, median of {runs}: breweries sql {median:.2f} s "
          f"(runs {', '.join(f'{s:.2f}' for s in ours)}); DuckDB on the Parquet files {reference:.2f} s: "
          f"{median / reference:.2f}x; Spark SQL through the catalog {spark_seconds:.2f} s")  # fmt: skip
    return conclude(
        "sql",
        quick=args.quick,
        met=median < TARGET_SECONDS,
        target=f"breweries sql answers a gold query in under {TARGET_SECONDS:.0f} s",
        measured=f"{median:.2f} s",
        details=f"gold query on the snapshot, cold processes, median of {runs}: breweries sql {median:.2f}s "
        f"/ DuckDB reading gold's Parquet directly {reference:.2f}s = {median / reference:.2f}x; "
        f"Spark SQL through the catalog {spark_seconds:.1f}s",
    )


if __name__ == "__main__":
    sys.exit(main())
