"""Silver anonymized: published silver with the sensitive columns replaced by a keyed hash."""

from __future__ import annotations

from breweries.errors import SettingsError
from breweries.lake.tables import Table
from breweries.settings import Settings, env_name
from breweries.stages.base import StageContext, StageResult
from breweries.stages.silver import SILVER
from breweries.transforms.anonymize import pseudonymize_columns
from breweries.transforms.silver import SILVER_SCHEMA

_HASHED = "pseudonymized with HMAC-SHA256 (hex) when in BREWERIES_PSEUDONYMIZE_COLUMNS (default: name, phone)"
SILVER_ANONYMIZED = Table(
    "silver_anonymized",
    "breweries",
    SILVER_SCHEMA,
    "silver.breweries with the sensitive columns replaced by a keyed hash",
    partition_columns=("country", "state"),
    comment_overrides={"name": f"brewery name, {_HASHED}", "phone": f"phone number, {_HASHED}"},
)


def check(settings: Settings) -> None:
    """Every column to pseudonymize is one of silver's (the runner checks before the first stage)."""
    unknown = [c for c in settings.pseudonymize_columns if c not in SILVER_SCHEMA.names]
    if unknown:
        raise SettingsError(
            f"{env_name('pseudonymize_columns')} names {', '.join(unknown)}, which silver does not "
            f"have; its columns are {', '.join(SILVER_SCHEMA.names)}"
        )


def run(ctx: StageContext) -> StageResult:
    settings = ctx.settings
    key = settings.require_pseudonymization_key().encode()
    silver = ctx.read(SILVER)
    anonymized = pseudonymize_columns(silver, settings.pseudonymize_columns, key)
    # Silver is partitioned the same way, a file per partition: its files become these files.
    commit = ctx.write(SILVER_ANONYMIZED, anonymized, clustered=True)
    rows_in = silver.count()
    ctx.log.info(
        "wrote anonymized silver",
        extra={
            "rows": commit.rows,
            "columns": ",".join(settings.pseudonymize_columns),
            "snapshot": commit.snapshot_id,
        },
    )
    return StageResult(
        rows_in,
        commit.rows,
        SILVER_ANONYMIZED.identifier,
        {"pseudonymized": list(settings.pseudonymize_columns)},
    )
