"""SQL on the tables without a JVM: PyIceberg reads the catalog, DuckDB reads the tables.

Each table of the catalog becomes a DuckDB view ``<namespace>.<table>`` over its current metadata
file (DuckDB's iceberg extension), so a query reads exactly the snapshot the catalog publishes.
DuckDB's extensions come from their PyPI packages (installed with the ``sql`` extra): nothing is
downloaded at run time.
"""

from __future__ import annotations

import importlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from breweries.errors import PipelineError, SettingsError
from breweries.lake.catalog import catalog_uri, sqlite_path
from breweries.pipeline import TABLES
from breweries.settings import Settings, env_name

_EXTENSIONS = ("avro", "iceberg")


class QueryError(PipelineError):
    """The query cannot run as written (syntax, an unknown table or column). Not retried."""

    exit_code = 2
    retryable = False


@dataclass(frozen=True)
class TableInfo:
    identifier: str
    snapshot_id: int | None
    rows: int
    metadata_location: str


def catalog(settings: Settings) -> Any:
    """PyIceberg's view of the JDBC catalog the pipeline commits to."""
    from pyiceberg.catalog.sql import SqlCatalog

    uri = catalog_uri(settings)
    path = sqlite_path(uri)
    if path is None:
        raise SettingsError(
            f"{env_name('catalog_uri')} is {uri.split('?')[0]}: `breweries sql` and `breweries tables` "
            "read a SQLite catalog; query a cluster's catalog through Trino"
        )
    if not path.is_file():
        raise SettingsError(
            f"no catalog at {path}: run the pipeline first (`breweries demo` or `breweries run`), "
            f"or point {env_name('catalog_uri')} or --storage-root at the catalog you mean"
        )
    return SqlCatalog("lake", uri=f"sqlite:///{path}", warehouse=settings.storage_root)


def list_tables(settings: Settings) -> list[TableInfo]:
    """Every table the catalog holds, in the pipeline's order, then any others."""
    lake = catalog(settings)
    found = [".".join(ident) for ns in lake.list_namespaces() for ident in lake.list_tables(ns)]
    order = [t.identifier for t in TABLES]
    found.sort(key=lambda i: (order.index(i) if i in order else len(order), i))
    infos = []
    for identifier in found:
        table = lake.load_table(identifier)
        snapshot = table.current_snapshot()
        rows = int(snapshot.summary.get("total-records", 0)) if snapshot and snapshot.summary else 0
        infos.append(
            TableInfo(identifier, snapshot.snapshot_id if snapshot else None, rows, table.metadata_location)
        )
    return infos


def run_sql(settings: Settings, query: str) -> tuple[list[str], list[tuple[Any, ...]]]:
    """The columns and rows ``query`` returns, tables named ``<namespace>.<table>``."""
    import duckdb

    # Offline by design: an extension missing from the packages is an error, not a download.
    connection = duckdb.connect(config={"autoinstall_known_extensions": False})
    for name in _EXTENSIONS:  # avro first: iceberg needs it loaded
        connection.load_extension(_extension_file(name))
    if settings.on_object_storage:
        _configure_s3(connection, settings)
    for info in list_tables(settings):
        namespace, name = info.identifier.split(".", 1)
        connection.execute(f'CREATE SCHEMA IF NOT EXISTS "{namespace}"')
        location = info.metadata_location.replace("'", "''")
        connection.execute(
            f'CREATE VIEW "{namespace}"."{name}" AS SELECT * FROM iceberg_scan(\'{location}\')'
        )
    try:
        result = connection.execute(query)
    except duckdb.Error as exc:
        raise QueryError(f"query failed: {str(exc).strip()}") from None
    columns = [d[0] for d in result.description or ()]
    return columns, result.fetchall()


def _extension_file(name: str) -> str:
    try:
        package = importlib.import_module(f"duckdb_extension_{name}")
    except ImportError:
        raise SettingsError(
            f"DuckDB's {name} extension is not installed: pip install 'breweries[sql]'"
        ) from None
    files = sorted(Path(str(package.__file__)).parent.glob("extensions/*/*.duckdb_extension"))
    if not files:
        raise SettingsError(f"the package duckdb_extension_{name} holds no extension file")
    return str(files[-1])


def _configure_s3(connection: Any, settings: Settings) -> None:
    connection.load_extension(_extension_file("httpfs"))
    endpoint = settings.s3_endpoint_url or ""
    options = {
        "TYPE": "s3",
        "KEY_ID": os.environ.get("AWS_ACCESS_KEY_ID", ""),
        "SECRET": os.environ.get("AWS_SECRET_ACCESS_KEY", ""),
        "REGION": settings.s3_region,
        "URL_STYLE": "path" if settings.s3_path_style else "vhost",
    }
    if endpoint:
        options["ENDPOINT"] = endpoint.split("://", 1)[-1]
        options["USE_SSL"] = str(endpoint.startswith("https://")).lower()
    rendered = ", ".join(f"{k} {v if k == 'USE_SSL' else repr(v)}" for k, v in options.items())
    connection.execute(f"CREATE SECRET breweries_s3 ({rendered})")
