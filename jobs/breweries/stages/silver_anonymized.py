"""Silver anonymized: silver with the sensitive columns replaced by a keyed hash."""

from __future__ import annotations

from breweries.errors import SettingsError
from breweries.settings import env_name
from breweries.stages.base import StageContext, StageResult
from breweries.tables import read_table, write_table
from breweries.transforms.anonymize import pseudonymize_columns
from breweries.transforms.silver import SILVER_SCHEMA


def run(ctx: StageContext) -> StageResult:
    layout, day, settings = ctx.layout, ctx.run_date, ctx.settings
    key = settings.require_pseudonymization_key().encode()
    unknown = [c for c in settings.pseudonymize_columns if c not in SILVER_SCHEMA.names]
    if unknown:
        raise SettingsError(
            f"{env_name('pseudonymize_columns')} names {', '.join(unknown)}, which silver does not "
            f"have; its columns are {', '.join(SILVER_SCHEMA.names)}"
        )
    silver = read_table(ctx.spark, layout.silver_uri(day), SILVER_SCHEMA)
    anonymized = pseudonymize_columns(silver, settings.pseudonymize_columns, key)
    output = ctx.output
    partitions, max_rows = ctx.stage.partition_columns, settings.silver_max_records_per_file
    # Silver is laid out by the same partitions: its files become these files, with no shuffle.
    write_table(anonymized, output, ctx.store, ctx.run_id, partitions, max_rows, partitioned_input=True)
    # Parquet counts come from file footers: cheap, and they check what was really written.
    rows_in = silver.count()
    rows_out = read_table(ctx.spark, output, SILVER_SCHEMA).count()
    ctx.log.info(
        "wrote anonymized silver",
        extra={"rows": rows_out, "columns": ",".join(settings.pseudonymize_columns), "output": output},
    )
    return StageResult(rows_in, rows_out, output, {"pseudonymized": list(settings.pseudonymize_columns)})
