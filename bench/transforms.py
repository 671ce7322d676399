"""Transforms at scale: synthetic bronze through silver, quality, anonymized silver and gold.

For each size, the pipeline's own stages run in local Spark (all cores) and the same
transformation runs in DuckDB, the single-machine reference, on the same bronze files, each in a
fresh process. Up to 5M records each engine runs three times, alternating, and the run of median
time stands for it: single cold runs of Spark on two cores spread by up to a quarter. Reported:
seconds, rows/s, the Spark / DuckDB ratio, peak memory of each process (Spark: the JVM plus the
Python driver), every run's seconds and peak, and Parquet files per silver partition.

Synthetic bronze follows the snapshot: each record copies a random real brewery (so countries,
states, types, null rates and strings keep their real distributions) under a new unique id;
0.2% repeat an earlier id with other contents and 0.05% have no id, so de-duplication and
quarantine do real work. Pages hold 50,000 records (the API's 200 would mean 25,000 files at 5M).
Generated files are cached in bench/.data.

With ``--reference-rev REV``, REV's own Spark worker (its code, its benchmark) runs too, on the same
bronze, alternating with the other two: the target that a change does not make the ratio to DuckDB
worse is judged against the same DuckDB runs, not against a line written on another day.

    python bench/transforms.py [--sizes 100000,1000000,5000000,20000000] [--runs 3] [--quick]
                               [--reference-rev a12c2ea]
"""

from __future__ import annotations

import argparse
import hashlib
import hmac as hmac_module
import json
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from dataclasses import dataclass, replace
from datetime import date, datetime, timezone
from pathlib import Path

from record import conclude, export_jobs

DATA = Path(__file__).with_name(".data")
RUN_DATE = date(2026, 1, 1)
RECORDS_PER_FILE = 50_000
# Spark / DuckDB wall time at most this, per size.
TARGET_RATIOS = {1_000_000: 5.0, 5_000_000: 3.0}
# At 20M the peak memory stays within this of 5M's: bounded by the heap, not the data.
TARGET_PEAK_GROWTH = 1.2
# Silver files: none above the first, none under the second unless its partition is smaller.
FILE_MB_RANGE = (8.0, 512.0)
KEY = "bench-key-not-secret"
# Above this size one run per engine: a 20M run of Spark takes over ten minutes.
LARGEST_REPEATED_SIZE = 5_000_000


# -- synthetic bronze ---------------------------------------------------------------------------
# Part of the cache's name: a generator that changes what it writes must not reuse old data.
GENERATOR_VERSION = 2


def bronze_root(size: int) -> Path:
    return DATA / f"bronze-{size}-g{GENERATOR_VERSION}"


def bronze_folder(size: int) -> Path:
    return bronze_root(size) / "breweries" / f"ingest_date={RUN_DATE.isoformat()}"


def generate_bronze(size: int, seed: int = 7) -> Path:
    """``size`` synthetic records as bronze pages plus a manifest; reused when already there."""
    from breweries.api.client import Crawl, Page
    from breweries.api.replay import load_snapshot
    from breweries.manifest import Manifest, PageEntry, page_file_name

    folder = bronze_folder(size)
    if (folder / "_manifest.json").is_file():
        return folder
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    rng = random.Random(seed)
    snapshot = load_snapshot()
    # (id, snapshot row) of each record issued so far: a repeated id repeats the whole record, as
    # a page served twice would, so that which copy survives de-duplication changes no count.
    issued: list[tuple[str, int]] = []
    entries = []
    for number, start in enumerate(range(0, size, RECORDS_PER_FILE), start=1):
        records = []
        for _ in range(min(RECORDS_PER_FILE, size - start)):
            row = rng.randrange(len(snapshot))
            record = dict(snapshot[row])
            roll = rng.random()
            if roll < 0.0005:
                record["id"] = None
            elif roll < 0.0025 and issued:
                record_id, row = rng.choice(issued)
                record = {**snapshot[row], "id": record_id}
            else:
                record["id"] = str(uuid.UUID(int=rng.getrandbits(128), version=4))
                issued.append((record["id"], row))
            records.append(record)
        body = json.dumps(records, ensure_ascii=False).encode()
        (folder / page_file_name(number)).write_bytes(body)
        # Its manifest entry, not the page: holding every body would hold the whole bronze in memory.
        sha256 = hashlib.sha256(body).hexdigest()
        entries.append(PageEntry(number, page_file_name(number), len(records), len(body), sha256))
    # One stand-in page carries the record count; the real entries replace it.
    crawl = Crawl("synthetic", size, RECORDS_PER_FILE, (Page(1, b"", size),), datetime.now(timezone.utc))
    manifest = replace(Manifest.from_crawl(crawl, RUN_DATE.isoformat(), "id:asc"), pages=tuple(entries))
    (folder / "_manifest.json").write_bytes(manifest.to_json())
    return folder


# -- the Spark side: the pipeline's stages, unchanged -------------------------------------------
def spark_worker(size: int, out: Path) -> dict[str, object]:
    from breweries.lake.commits import Lake
    from breweries.layout import Layout
    from breweries.runner import RunPolicy, run_pipeline
    from breweries.settings import Settings
    from breweries.spark import build_spark_session
    from breweries.stages.gold import GOLD
    from breweries.state import StageRun, StateStore

    settings = Settings(
        storage_root=str(out),
        bronze_uri=str(bronze_root(size)),
        pseudonymization_key=KEY,
        log_format="text",
        # What a run of this size should use: see BREWERIES_SPARK_JIT and _DRIVER_MEMORY.
        spark_jit="full",
        spark_driver_memory="4g",
    )
    manifest = json.loads((bronze_folder(size) / "_manifest.json").read_text())
    now = datetime.now(timezone.utc).isoformat()
    bronze_done = StageRun(
        "bronze",
        RUN_DATE.isoformat(),
        now,
        now,
        0.0,
        size,
        manifest["record_count"],
        Layout(settings).bronze_uri(RUN_DATE),
        run_id="bench",
    )
    StateStore(settings.open_store(), settings.state_uri).record(bronze_done)

    start = time.perf_counter()
    spark = build_spark_session(settings, "bench-transforms")
    startup = time.perf_counter() - start
    jvm_pid = int(spark.sparkContext._jvm.java.lang.ProcessHandle.current().pid())
    cpu_before = _cpu_seconds(jvm_pid)
    start = time.perf_counter()
    stages = ["silver", "quality", "silver_anonymized", "gold"]
    runs = run_pipeline(settings, RUN_DATE, stages, RunPolicy(), lambda: spark)
    seconds = time.perf_counter() - start
    cpu_seconds = _cpu_seconds(jvm_pid) - cpu_before
    silver_rows = next(r for r in runs if r and r.stage == "silver").rows_out
    gold = Lake(spark, settings).read(GOLD, RUN_DATE)
    gold_sum = gold.agg({"brewery_count": "sum"}).first()[0]
    spark.stop()
    return {
        "seconds": seconds,
        "cpu_seconds": cpu_seconds,
        "startup_seconds": startup,
        "stages": {r.stage: r.duration_seconds for r in runs if r},
        "silver_rows": silver_rows,
        "gold_sum": gold_sum,
        "peak_mb": _peak_rss_mb(jvm_pid) + _own_peak_rss_mb(),
        "files_per_partition": _files_per_partition(out / "silver" / "breweries"),
        "file_mb": _file_sizes(out / "silver" / "breweries"),
    }


# -- the DuckDB side: the same steps in SQL ------------------------------------------------------
def duckdb_worker(size: int, out: Path) -> dict[str, object]:
    import duckdb

    from breweries.api.fields import API_FIELDS, BREWERY_TYPES
    from breweries.transforms.anonymize import _hmac_pads

    inner, outer = (p.hex() for p in _hmac_pads(KEY.encode()))
    db = duckdb.connect()
    text = [f for f in API_FIELDS if f not in ("longitude", "latitude")]
    columns = "{" + ", ".join(f"'{f}': 'VARCHAR'" for f in API_FIELDS) + "}"
    clean = {
        f: f"nullif(regexp_replace({f}, '^[\\s\\p{{Z}}]+|[\\s\\p{{Z}}]+$', '', 'g'), '')" for f in API_FIELDS
    }
    number = "try_cast({} AS DOUBLE)"
    coord = {
        f: f"(CASE WHEN isfinite({number.format(clean[f])}) THEN {number.format(clean[f])} END)"
        for f in ("longitude", "latitude")
    }
    normalized = ", ".join(
        [f"{clean[f]} AS {f}" for f in text if f not in ("brewery_type", "state_province", "state")]
        + [
            f"lower({clean['brewery_type']}) AS brewery_type",
            f"coalesce({clean['state_province']}, {clean['state']}) AS state_province",
            f"coalesce({clean['state_province']}, {clean['state']}) AS state",
        ]
        + [f"{coord[f]} AS {f}" for f in coord]
    )
    completeness = " + ".join(f"({f} IS NOT NULL)::INT" for f in API_FIELDS)
    silver_columns = ", ".join(f for f in API_FIELDS if f not in ("country", "state")) + ", country, state"
    hmac = "sha256(from_hex('{o}') || unhex(sha256(from_hex('{i}') || encode({c}))))"
    anonymized = ", ".join(
        hmac.format(o=outer, i=inner, c=f) + f" AS {f}" if f in ("name", "phone") else f
        for f in silver_columns.split(", ")
    )
    types = ", ".join(f"'{t}'" for t in sorted(BREWERY_TYPES))
    token = db.sql(f"SELECT {hmac.format(o=outer, i=inner, c=repr('Zoë'))}").fetchone()
    assert token == (hmac_module.new(KEY.encode(), "Zoë".encode(), "sha256").hexdigest(),), token
    start = time.perf_counter()
    db.sql(f"""
        CREATE TEMP TABLE flagged AS
        WITH normalized AS (
            SELECT {normalized}
            FROM read_json('{bronze_folder(size)}/page=*.json', format='array', columns={columns})
        )
        SELECT *, CASE
            WHEN id IS NULL THEN 'missing_id'
            WHEN row_number() OVER (PARTITION BY id ORDER BY {completeness} DESC,
                 sha256(to_json(struct_pack({", ".join(API_FIELDS)}))) ASC) > 1 THEN 'duplicate_id'
        END AS quarantine_reason
        FROM normalized
    """)
    silver = out / "silver"
    db.sql(f"COPY (SELECT {silver_columns} FROM flagged WHERE quarantine_reason IS NULL) TO '{silver}' "
           "(FORMAT parquet, PARTITION_BY (country, state))")  # fmt: skip
    record = f"to_json(struct_pack({', '.join(API_FIELDS)}))"
    quarantine = out / "quarantine.parquet"
    db.sql(f"COPY (SELECT quarantine_reason, id, {record} AS record FROM flagged "
           f"WHERE quarantine_reason IS NOT NULL) TO '{quarantine}' (FORMAT parquet)")  # fmt: skip
    read_silver = f"read_parquet('{silver}/**/*.parquet', hive_partitioning = true)"
    metrics = db.sql(f"""
        SELECT count(*), count(*) FILTER (id IS NULL), count(id) - count(DISTINCT id),
               count(*) FILTER (brewery_type IS NULL OR brewery_type NOT IN ({types})),
               count(*) FILTER (NOT latitude BETWEEN -90 AND 90 OR NOT longitude BETWEEN -180 AND 180),
               count(*) FILTER (country IS NULL)
        FROM {read_silver}
    """).fetchone()
    db.sql(f"COPY (SELECT {anonymized} FROM {read_silver}) TO '{out / 'silver_anonymized'}' "
           "(FORMAT parquet, PARTITION_BY (country, state))")  # fmt: skip
    gold = out / "gold"
    db.sql(f"""COPY (SELECT country, state, brewery_type, count(*) AS brewery_count
                     FROM read_parquet('{out / "silver_anonymized"}/**/*.parquet', hive_partitioning = true)
                     GROUP BY ALL) TO '{gold}' (FORMAT parquet, PARTITION_BY (country))""")  # fmt: skip
    seconds = time.perf_counter() - start
    gold_sum = db.sql(f"SELECT sum(brewery_count) FROM read_parquet('{gold}/**/*.parquet')").fetchone()[0]
    gold_rows = db.sql(
        f"SELECT country, state, brewery_type, brewery_count FROM "
        f"read_parquet('{gold}/**/*.parquet', hive_partitioning = true)"
    ).fetchall()
    return {
        "seconds": seconds,
        "silver_rows": metrics[0] if metrics else 0,
        "gold_sum": int(gold_sum),
        # An independent count of gold, row by row, for bench/cluster_run.py's comparison.
        "gold": [list(row) for row in gold_rows],
        "peak_mb": _own_peak_rss_mb(),
        "files_per_partition": _files_per_partition(silver),
    }


# -- measuring ----------------------------------------------------------------------------------
def _peak_rss_mb(pid: int) -> float:
    """The process's peak resident memory (VmHWM), in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _cpu_seconds(pid: int) -> float:
    """CPU time the process has used so far, user and system, all threads (JIT and GC included)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _own_peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _files_per_partition(table: Path) -> dict[str, int]:
    counts = Counter(p.parent for p in table.rglob("*.parquet"))
    return {
        "partitions": len(counts),
        "max": max(counts.values(), default=0),
        "min": min(counts.values(), default=0),
    }


def _file_sizes(table: Path) -> dict[str, float]:
    """The largest silver file, and the smallest in a partition of at least FILE_MB_RANGE[0], in MB."""
    by_partition: dict[Path, list[float]] = {}
    for file in table.rglob("*.parquet"):
        by_partition.setdefault(file.parent, []).append(file.stat().st_size / 1e6)
    floor = FILE_MB_RANGE[0]
    sized = [mb for files in by_partition.values() if sum(files) >= floor for mb in files]
    return {
        "largest": max((mb for files in by_partition.values() for mb in files), default=0.0),
        "smallest_in_large_partitions": min(sized, default=floor),
    }


def run_worker(engine: str, size: int, reference: Reference | None = None) -> dict[str, object]:
    """One engine on one size in a fresh process: no warm JVM, no cache, a clean peak memory.
    With ``reference``, its revision's own Spark worker, on its code."""
    script, env = (reference.script, reference.env) if reference else (Path(__file__), None)
    with tempfile.TemporaryDirectory(prefix=f"bench-{engine}-") as out:
        result = subprocess.run(
            [sys.executable, str(script), "--worker", engine, "--size", str(size), "--out", out],
            capture_output=True,
            text=True,
            check=False,
            env=env,
        )
    if result.returncode != 0:
        raise SystemExit(f"{engine} at {size} rows failed:\n{result.stderr[-4000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


@dataclass(frozen=True)
class Reference:
    """An earlier revision's code and its own transforms benchmark, reading this checkout's bronze."""

    revision: str
    script: Path
    env: dict[str, str]

    @classmethod
    def export(cls, revision: str, into: Path, sizes: list[int]) -> Reference:
        jobs = export_jobs(revision, into, "bench")
        script = into / "bench" / "transforms.py"
        env = {**os.environ, "PYTHONPATH": f"{script.parent}{os.pathsep}{jobs}"}
        # Where its worker looks for bronze: a link to the files this checkout's worker reads, so that
        # both revisions time the same input.
        for size in sizes:
            asked = f"import transforms; print(transforms.bronze_folder({size}))"
            found = subprocess.run(
                [sys.executable, "-c", asked], env=env, capture_output=True, text=True, check=True
            )
            folder = Path(found.stdout.strip())
            folder.parent.mkdir(parents=True, exist_ok=True)
            folder.symlink_to(bronze_folder(size), target_is_directory=True)
        return cls(revision, script, env)


def median_run(engine: str, size: int, runs: list[dict[str, object]]) -> dict[str, object]:
    """The run of median seconds, with every run's seconds and peak memory beside its own."""
    ordered = sorted(runs, key=lambda run: float(run["seconds"]))
    median = dict(ordered[(len(ordered) - 1) // 2])
    median["all_seconds"] = [round(float(run["seconds"]), 1) for run in runs]
    median["all_peak_mb"] = [round(float(run["peak_mb"])) for run in runs]
    print(f"{engine} at {size}: runs of {_runs(median)} s, peaks {_peaks(median)} MB", flush=True)
    return median


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--sizes", default="100000,1000000,5000000,20000000", help="comma list of record counts"
    )
    parser.add_argument(
        "--runs", type=int, default=3, help=f"runs per engine up to {LARGEST_REPEATED_SIZE:,} records"
    )
    parser.add_argument("--quick", action="store_true", help="one 2,000-record smoke run, nothing recorded")
    parser.add_argument(
        "--reference-rev",
        help="also run this revision's Spark worker on the same bronze, alternating: its ratio to the same "
        "DuckDB runs is the one not to get worse",
    )
    parser.add_argument("--worker", choices=["spark", "duckdb"], help=argparse.SUPPRESS)
    parser.add_argument("--size", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker = spark_worker if args.worker == "spark" else duckdb_worker
        print(json.dumps(worker(args.size, args.out)))
        return 0

    sizes = [2000] if args.quick else [int(s) for s in args.sizes.split(",")]
    rows = []
    earlier: dict[int, dict[str, object]] = {}  # the reference revision's Spark, by size
    code = tempfile.TemporaryDirectory(prefix="bench-reference-")
    reference = Reference.export(args.reference_rev, Path(code.name), sizes) if args.reference_rev else None
    for size in sizes:
        clock = time.perf_counter()
        generate_bronze(size)
        print(f"bronze: {size} synthetic records ready in {time.perf_counter() - clock:.1f} s", flush=True)
        repeats = 1 if args.quick or size > LARGEST_REPEATED_SIZE else max(args.runs, 1)
        # Alternating, so that a passing load on the machine slows both engines alike.
        runs: dict[str, list[dict[str, object]]] = {"spark": [], "reference": [], "duckdb": []}
        for _ in range(repeats):
            runs["spark"].append(run_worker("spark", size))
            if reference:
                runs["reference"].append(run_worker("spark", size, reference))
            runs["duckdb"].append(run_worker("duckdb", size))
        spark = median_run("spark", size, runs["spark"])
        duck = median_run("duckdb", size, runs["duckdb"])
        compared = [spark]
        if reference:
            earlier[size] = median_run(f"spark at {reference.revision}", size, runs["reference"])
            compared.append(earlier[size])
        for other in compared:
            if (other["silver_rows"], other["gold_sum"]) != (duck["silver_rows"], duck["gold_sum"]):
                raise SystemExit(f"the engines disagree at {size}: spark {other}, duckdb {duck}")
        rows.append((size, spark, duck))
    code.cleanup()

    print(f"\ntransforms: silver + quality + anonymized + gold, {os.cpu_count()} cores")
    print(
        f"{'records':>9} {'spark_s':>8} {'duckdb_s':>8} {'ratio':>6} {'spark_rows/s':>12} "
        f"{'duckdb_rows/s':>13} {'spark_MB':>8} {'duckdb_MB':>9}  silver files/partition"
    )
    for size, spark, duck in rows:
        s, d = float(spark["seconds"]), float(duck["seconds"])
        files = spark["files_per_partition"]
        print(
            f"{size:>9} {s:>8.2f} {d:>8.2f} {s / d:>6.2f} {size / s:>12,.0f} {size / d:>13,.0f}"
            f" {spark['peak_mb']:>8.0f} {duck['peak_mb']:>9.0f}  {files['min']}..{files['max']}"
            f" in each of {files['partitions']}"
        )
    cores = os.cpu_count() or 1
    for size, spark, _ in rows:
        stages = ", ".join(
            f"{k} {v:.1f}s ({size / v / cores:,.0f} rows/s/core)" for k, v in spark["stages"].items()
        )
        print(f"  spark at {size}: start-up {spark['startup_seconds']:.1f}s (not counted), {stages}")
        if size in earlier:
            before = ", ".join(f"{k} {v:.1f}s" for k, v in earlier[size]["stages"].items())
            print(f"  spark at {size} at {reference.revision}: {before}")
    verdicts = targets(rows)
    if reference:
        verdicts += not_worse(rows, earlier, reference.revision)
    for target, measured, ok in verdicts:
        print(f"  {target}: {measured}, {_met(ok)}")
    return conclude(
        "transforms",
        quick=args.quick,
        met=all(ok for _, _, ok in verdicts),
        target="; ".join(target for target, _, _ in verdicts) or "none at these sizes",
        measured="; ".join(f"{measured}, {_met(ok)}" for _, measured, ok in verdicts),
        details="; ".join(
            f"{size}: spark {float(s['seconds']):.1f}s / duckdb {float(d['seconds']):.1f}s = "
            f"{float(s['seconds']) / float(d['seconds']):.2f}x"
            + (f" (median of spark {_runs(s)}, duckdb {_runs(d)})" if len(s["all_seconds"]) > 1 else "")
            + f", peak {s['peak_mb']:.0f}/{d['peak_mb']:.0f} MB"
            + (f" (runs {_peaks(s)} / {_peaks(d)})" if len(s["all_peak_mb"]) > 1 else "")
            + (_reference_text(earlier[size], d, reference.revision) if reference else "")
            + ", "
            f"silver files/partition max {s['files_per_partition']['max']}, "
            f"file MB largest {s['file_mb']['largest']:.1f}, "
            f"smallest {s['file_mb']['smallest_in_large_partitions']:.1f}; "
            f"per stage rows/s/core "
            + ", ".join(f"{k} {size / v / cores:,.0f}" for k, v in s["stages"].items())
            for size, s, d in rows
        ),
    )


def targets(rows: list[tuple[int, dict, dict]]) -> list[tuple[str, str, bool]]:
    """Each target these sizes can judge: what it is, what was measured, and whether it was met."""
    by_size = {size: (spark, duck) for size, spark, duck in rows}
    verdicts = []
    for size, limit in TARGET_RATIOS.items():
        if size in by_size:
            spark, duck = by_size[size]
            ratio = float(spark["seconds"]) / float(duck["seconds"])
            verdicts.append((f"Spark <= {limit}x DuckDB at {size}", f"{ratio:.2f}x", ratio <= limit))
    if 5_000_000 in by_size and 20_000_000 in by_size:
        growth = float(by_size[20_000_000][0]["peak_mb"]) / float(by_size[5_000_000][0]["peak_mb"])
        target = f"peak memory at 20M <= {TARGET_PEAK_GROWTH}x 5M's"
        verdicts.append((target, f"{growth:.2f}x", growth <= TARGET_PEAK_GROWTH))
    low, high = FILE_MB_RANGE
    for size, (spark, _) in by_size.items():
        if size >= 5_000_000:
            largest, smallest = spark["file_mb"]["largest"], spark["file_mb"]["smallest_in_large_partitions"]
            verdicts.append(
                (f"silver files {low:.0f}..{high:.0f} MB at {size}", f"{smallest:.1f}..{largest:.1f} MB",
                 largest <= high and smallest >= low)
            )  # fmt: skip
    return verdicts


def not_worse(
    rows: list[tuple[int, dict, dict]], earlier: dict[int, dict[str, object]], revision: str
) -> list[tuple[str, str, bool]]:
    """Per size: this code's ratio to DuckDB is no worse than ``revision``'s, against the same DuckDB runs."""
    verdicts = []
    for size, spark, duck in rows:
        now = float(spark["seconds"]) / float(duck["seconds"])
        before = float(earlier[size]["seconds"]) / float(duck["seconds"])
        verdicts.append(
            (
                f"ratio to DuckDB at {size} no worse than at {revision}",
                f"{now:.2f}x vs {before:.2f}x",
                now <= before,
            )
        )
    return verdicts


def _reference_text(earlier: dict, duck: dict, revision: str) -> str:
    seconds = float(earlier["seconds"])
    runs = f" (runs {_runs(earlier)})" if len(earlier["all_seconds"]) > 1 else ""
    stages = ", ".join(f"{k} {v:.1f}s" for k, v in earlier["stages"].items())
    return f"; spark at {revision} {seconds:.1f}s = {seconds / float(duck['seconds']):.2f}x{runs} ({stages})"


def _runs(result: dict) -> str:
    return "/".join(f"{seconds:.1f}" for seconds in result["all_seconds"])


def _peaks(result: dict) -> str:
    return "/".join(str(mb) for mb in result["all_peak_mb"])


def _met(ok: bool) -> str:
    return "met" if ok else "MISSED"


if __name__ == "__main__":
    sys.exit(main())
