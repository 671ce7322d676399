"""How every engine reaches the tables' catalog: an Apache Iceberg JDBC catalog.

Locally it is a SQLite file under the storage root (nothing to start); in a cluster a PostgreSQL
database. Spark (Iceberg's runtime), PyIceberg's SQL catalog and Trino's Iceberg connector all read
the same JDBC schema (Iceberg's "V1" tables), so each sees the tables the others committed.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from pyspark.sql import SparkSession

from breweries.errors import PipelineError, SettingsError, StorageError, describe
from breweries.settings import Settings, env_name

# Spark's name for the catalog; also what its SQL extensions and procedures are called through.
CATALOG = "lake"
# Iceberg's JDBC catalog with views and namespaces (schema V1), which PyIceberg reads too.
_JDBC_SCHEMA_VERSION = "V1"
# SQLite makes a statement wait this long for another process's lock before giving up; a
# busy_timeout in the URI wins.
_SQLITE_BUSY_TIMEOUT_MS = "30000"
SPARK_EXTENSIONS = "org.apache.iceberg.spark.extensions.IcebergSparkSessionExtensions"


def catalog_uri(settings: Settings) -> str:
    """The catalog's JDBC URL: the setting, or a SQLite file under a local storage root."""
    if settings.catalog_uri:
        return settings.catalog_uri
    if settings.on_object_storage:
        raise SettingsError(
            f"{env_name('catalog_uri')} is not set: with the layers on {settings.storage_root}, say where "
            "the tables' catalog is (jdbc:postgresql://HOST/DB, or jdbc:sqlite:/a/local/file.db)"
        )
    return f"jdbc:sqlite:{Path(settings.storage_root.removeprefix('file://')) / '_catalog' / 'iceberg.db'}"


def sqlite_path(uri: str) -> Path | None:
    return Path(uri.removeprefix("jdbc:sqlite:").split("?")[0]) if uri.startswith("jdbc:sqlite:") else None


def prepare_catalog(settings: Settings) -> str:
    """The JDBC URL, with a SQLite catalog's folder created (SQLite creates the file, not folders)."""
    uri = catalog_uri(settings)
    if (path := sqlite_path(uri)) is not None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise SettingsError(
                f"cannot create the catalog's folder {path.parent} ({exc.strerror}): "
                f"choose a storage root or {env_name('catalog_uri')} this user can write"
            ) from None
    return uri


def catalog_properties(settings: Settings) -> dict[str, str]:
    """Iceberg's catalog properties, as every engine that speaks the JDBC catalog takes them."""
    properties = {
        "type": "jdbc",
        "uri": prepare_catalog(settings),
        "warehouse": settings.storage_root,
        "jdbc.schema-version": _JDBC_SCHEMA_VERSION,
    }
    if sqlite_path(properties["uri"]) is not None and "busy_timeout=" not in properties["uri"]:
        properties["jdbc.busy_timeout"] = _SQLITE_BUSY_TIMEOUT_MS
    if settings.catalog_user:
        properties["jdbc.user"] = settings.catalog_user
    if settings.catalog_password:
        properties["jdbc.password"] = settings.catalog_password
    return properties


def use_catalog(spark: SparkSession, settings: Settings) -> str:
    """Point ``spark``'s catalog ``lake`` at the settings' catalog and return its name.

    The name is also what the JDBC catalog stores with every table, so it is the same for every
    engine. A session that served another catalog before (the tests share one session across
    storage roots) forgets the catalogs it had loaded, so that ``lake`` is loaded again from the new
    settings.
    """
    properties = catalog_properties(settings)
    prefix = f"spark.sql.catalog.{CATALOG}"
    if spark.conf.get(f"{prefix}.uri", None) != properties["uri"]:
        for key in [k for k in spark.conf.getAll if k.startswith(f"{prefix}.")]:
            spark.conf.unset(key)
        # No cache of loaded tables: a commit by another process (another date's run, a
        # maintenance job) is seen at the next read, not up to the cache's expiry later.
        for key, value in {**properties, "cache-enabled": "false"}.items():
            spark.conf.set(f"{prefix}.{key}", value)
        spark.conf.set(prefix, "org.apache.iceberg.spark.SparkCatalog")
        spark._jsparkSession.sessionState().catalogManager().reset()
    return CATALOG


@contextmanager
def naming_a_locked_catalog(settings: Settings) -> Iterator[None]:
    """Turn SQLite's "database is locked" (from Spark's JDBC driver or from PyIceberg) into one error
    that names the catalog and says what to do: neither driver names the file. Retried, like any
    storage failure: the lock's holder may be gone at the next attempt."""
    try:
        yield
    except PipelineError:
        raise
    except Exception as exc:
        text = describe(exc)
        if "SQLITE_BUSY" not in text and "database is locked" not in text:
            raise
        raise StorageError(
            f"the tables' catalog {sqlite_path(catalog_uri(settings))} is locked by another process: "
            "wait for the run or `breweries maintain` that is writing it, or close the program that "
            "holds it open (a sqlite3 shell), then run again"
        ) from exc
