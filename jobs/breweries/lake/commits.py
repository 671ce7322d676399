"""The one layer that reads, writes and publishes the tables: every commit the pipeline makes.

A stage's write replaces exactly its run date (an overwrite filtered on ``snapshot_date``) in one
Iceberg commit: other dates are untouched, and a run killed before the commit changes nothing a
reader sees. An audited write goes to the date's audit branch instead of ``main``; :meth:`Lake.publish`
moves ``main`` to it once the quality gate has passed (write, audit, publish).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from breweries.errors import TableSchemaError
from breweries.lake.catalog import use_catalog
from breweries.lake.tables import SNAPSHOT_DATE, Table
from breweries.settings import Settings

MAIN = "main"
# The snapshot summary property that ties a commit to the stage run that made it.
RUN_ID_PROPERTY = "breweries.run-id"


@dataclass(frozen=True)
class Commit:
    table: str  # its identifier
    snapshot_id: int
    rows: int  # the rows of the run date in this snapshot
    ref: str  # main, or the audit branch it was committed to


def audit_branch(day: date) -> str:
    """The branch a date's audited writes go to until the gate publishes them."""
    return f"audit_{day:%Y%m%d}"


class Lake:
    """The tables of one catalog, as seen from one SparkSession."""

    def __init__(self, spark: SparkSession, settings: Settings) -> None:
        self.spark, self.settings = spark, settings
        self.catalog = use_catalog(spark, settings)

    def name(self, table: Table, branch: str | None = None) -> str:
        """Spark's identifier of the table, or of one of its branches."""
        base = f"{self.catalog}.{table.identifier}"
        return f"{base}.branch_{branch}" if branch else base

    def read(self, table: Table, day: date, snapshot_id: int | None = None) -> DataFrame:
        """The rows of ``day`` as published on ``main``, or as of one snapshot (an audited write)."""
        reader = self.spark.read
        if snapshot_id is not None:
            reader = reader.option("snapshot-id", str(snapshot_id))
        return (
            reader.table(self.name(table))
            .where(F.col(SNAPSHOT_DATE) == F.lit(day))
            .select(*table.columns.names)
        )

    def write(
        self,
        table: Table,
        df: DataFrame,
        day: date,
        run_id: str,
        audited: bool = False,
        clustered: bool = False,
    ) -> Commit:
        """Replace ``day`` in ``table`` with ``df`` in one commit, on main or on the date's audit branch.

        ``clustered``: each of ``df``'s partitions holds whole table partitions, as a frame read
        from a table partitioned the same way does (one file per partition, read by one task). Its
        rows are then written by the tasks that read them, each keeping a file open per partition it
        holds (Iceberg's fanout writer, as for a shuffled write), without the shuffle by partition
        that Iceberg otherwise asks for.
        """
        self.ensure(table)
        branch = None
        if audited:
            branch = audit_branch(day)
            if self._ref_snapshot(table, MAIN) is None:
                # Nothing published yet: Iceberg cannot replace a branch from an empty main, so the
                # branch an earlier attempt left (killed, or failed at the gate) starts afresh.
                self._drop_branch(table, branch)
            # From main as it is now: the gate compares the date's new rows with nothing stale.
            self.spark.sql(f"ALTER TABLE {self.name(table)} CREATE OR REPLACE BRANCH {branch}")
        rows = df.withColumn(SNAPSHOT_DATE, F.lit(day)).select(*table.schema.names)
        writer = rows.writeTo(self.name(table, branch)).option(f"snapshot-property.{RUN_ID_PROPERTY}", run_id)
        if clustered:
            writer = writer.option("distribution-mode", "none")
        writer.overwrite(F.col(SNAPSHOT_DATE) == F.lit(day))
        return self._commit_of(table, run_id, branch or MAIN)

    def publish(self, table: Table, day: date, snapshot_id: int, run_id: str) -> Commit:
        """Make the audited ``snapshot_id`` the date's published rows on main.

        When main has not moved since the audit branch left it, main is fast-forwarded to the
        snapshot (no data is written). When another date was published meanwhile, the audited rows
        are committed again on main, as one more overwrite of the date. Publishing twice is a no-op.
        """
        branch = audit_branch(day)
        main = self._ref_snapshot(table, MAIN)
        if main is not None and (main == snapshot_id or self._is_ancestor(table, snapshot_id, main)):
            return self._commit(table, snapshot_id, MAIN)
        # A new table has no main yet: the audit branch left it empty, and main starts at the audit.
        if main is None or self._parent(table, snapshot_id) == main:
            try:
                self.spark.sql(
                    f"CALL {self.catalog}.system.fast_forward("
                    f"table => '{table.identifier}', branch => '{MAIN}', to => '{branch}')"
                )
            except Exception:  # main moved between the check and the commit: rewrite below
                pass
            else:
                self._drop_branch(table, branch)
                return self._commit(table, snapshot_id, MAIN)
        audited = self.read(table, day, snapshot_id)
        commit = self.write(table, audited, day, run_id)
        self._drop_branch(table, branch)
        return commit

    def ensure(self, table: Table) -> None:
        """Create the table where it is missing; add the columns the code has and the table lacks.

        A column whose type differs from the code's is an error: rewriting history is the
        operator's decision, not a run's.
        """
        name = self.name(table)
        if not self.spark.catalog.tableExists(name):
            self.spark.sql(f"CREATE NAMESPACE IF NOT EXISTS {self.catalog}.{table.namespace}")
            self._create(table)
            return
        existing = {f.name: f for f in self.spark.table(name).schema.fields}
        for wanted in table.schema.fields:
            have = existing.get(wanted.name)
            if have is None:
                self.spark.sql(
                    f"ALTER TABLE {name} ADD COLUMN {_quoted(wanted.name)} {wanted.dataType.simpleString()} "
                    f"COMMENT {_literal(wanted.metadata['comment'])}"
                )
            elif have.dataType != wanted.dataType:
                raise TableSchemaError(
                    f"table {table.identifier} has column {wanted.name} as "
                    f"{have.dataType.simpleString()}, but the pipeline writes it as "
                    f"{wanted.dataType.simpleString()}: migrate the column (ALTER TABLE) or drop the table"
                )

    def _create(self, table: Table) -> None:
        columns = ",\n  ".join(
            f"{_quoted(f.name)} {f.dataType.simpleString()}{'' if f.nullable else ' NOT NULL'} "
            f"COMMENT {_literal(f.metadata['comment'])}"
            for f in table.schema.fields
        )
        retention_ms = self.settings.snapshot_retention_days * 24 * 3600 * 1000
        properties = {
            "format-version": "2",
            # Spark's Parquet codec elsewhere in the pipeline, and faster to write than zstd.
            "write.parquet.compression-codec": "snappy",
            # Iceberg shrinks its read splits when a scan is small, to give every core a split: a
            # date of a few hundred small partition files then becomes dozens of tasks, each
            # costing more to start than to read its files. The split size stays its 128 MB.
            "read.split.adaptive-size.enabled": "false",
            # How long earlier snapshots stay readable (time travel); `breweries maintain` expires older.
            "history.expire.max-snapshot-age-ms": str(retention_ms),
            "history.expire.min-snapshots-to-keep": "1",
            "write.metadata.delete-after-commit.enabled": "true",
            "write.metadata.previous-versions-max": "50",
        }
        self.spark.sql(
            f"CREATE TABLE IF NOT EXISTS {self.name(table)} (\n  {columns}\n) USING iceberg\n"
            f"PARTITIONED BY ({', '.join(map(_quoted, table.partitioning))})\n"
            f"COMMENT {_literal(table.comment)}\n"
            f"LOCATION {_literal(table.location(self.settings))}\n"
            f"TBLPROPERTIES ({', '.join(f'{_literal(k)} = {_literal(v)}' for k, v in properties.items())})"
        )

    # Snapshot bookkeeping goes through Iceberg's Java table API: reading the metadata tables
    # instead would start a Spark job per question.
    def _iceberg_table(self, table: Table) -> Any:
        jvm = self.spark.sparkContext._jvm
        assert jvm is not None
        loaded = jvm.org.apache.iceberg.spark.Spark3Util.loadIcebergTable(
            self.spark._jsparkSession, self.name(table)
        )
        loaded.refresh()
        return loaded

    def _commit_of(self, table: Table, run_id: str, ref: str) -> Commit:
        iceberg = self._iceberg_table(table)
        ours = [s for s in _java_list(iceberg.snapshots()) if s.summary().get(RUN_ID_PROPERTY) == run_id]
        if not ours:
            raise RuntimeError(f"no commit of run {run_id} in {table.identifier}")
        latest = max(ours, key=lambda s: s.timestampMillis())
        return Commit(table.identifier, latest.snapshotId(), _added_rows(latest), ref)

    def _commit(self, table: Table, snapshot_id: int, ref: str) -> Commit:
        # The audited snapshot is an overwrite of the date alone: what it added is the date's rows.
        snapshot = self._iceberg_table(table).snapshot(snapshot_id)
        return Commit(table.identifier, snapshot_id, _added_rows(snapshot), ref)

    def _ref_snapshot(self, table: Table, ref: str) -> int | None:
        found = self._iceberg_table(table).refs().get(ref)
        return None if found is None else found.snapshotId()

    def _parent(self, table: Table, snapshot_id: int) -> int | None:
        snapshot = self._iceberg_table(table).snapshot(snapshot_id)
        return None if snapshot is None else snapshot.parentId()

    def _is_ancestor(self, table: Table, snapshot_id: int, of: int) -> bool:
        jvm = self.spark.sparkContext._jvm
        assert jvm is not None
        return bool(
            jvm.org.apache.iceberg.util.SnapshotUtil.isAncestorOf(self._iceberg_table(table), of, snapshot_id)
        )

    def _drop_branch(self, table: Table, branch: str) -> None:
        self.spark.sql(f"ALTER TABLE {self.name(table)} DROP BRANCH IF EXISTS {branch}")


def _java_list(iterable: Any) -> list[Any]:
    iterator, items = iterable.iterator(), []
    while iterator.hasNext():
        items.append(iterator.next())
    return items


def _added_rows(snapshot: Any) -> int:
    return int(snapshot.summary().get("added-records") or 0)


def _quoted(identifier: str) -> str:
    return f"`{identifier}`"


def _literal(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"
