"""One settings object: environment, flags on top, defaults derived from the root, clear errors."""

from __future__ import annotations

import re
import socket
from pathlib import Path

import pytest

from breweries.cli import main
from breweries.errors import SettingsError
from breweries.pipeline import STAGE_NAMES
from breweries.runner import check_settings
from breweries.settings import Settings, known_variables


def test_defaults_put_every_layer_under_the_root(tmp_path):
    settings = Settings.from_env({"BREWERIES_STORAGE_ROOT": str(tmp_path)})
    root = f"file://{tmp_path}"
    assert settings.storage_root == root
    assert settings.bronze_uri == f"{root}/bronze"
    assert settings.silver_anonymized_uri == f"{root}/silver_anonymized"
    assert settings.state_uri == f"{root}/_state"
    assert settings.api_url == "https://api.openbrewerydb.org/v1"
    assert settings.pseudonymize_columns == ("name", "phone")


def test_layers_can_live_in_other_buckets():
    settings = Settings.from_env(
        {
            "BREWERIES_STORAGE_ROOT": "s3a://lake/breweries/",
            "BREWERIES_SILVER_URI": "s3://raw-silver/breweries",
        }
    )
    assert settings.silver_uri == "s3a://raw-silver/breweries"
    assert settings.gold_uri == "s3a://lake/breweries/gold"


def test_flags_override_the_environment(tmp_path):
    env = {"BREWERIES_STORAGE_ROOT": "/elsewhere", "BREWERIES_API_URL": "http://127.0.0.1:1/v1"}
    settings = Settings.from_env(env, storage_root=str(tmp_path), api_url=None)
    assert settings.storage_root == f"file://{tmp_path}"
    assert settings.api_url == "http://127.0.0.1:1/v1"  # a flag left unset does not override


def test_typed_values_and_lists_are_parsed():
    settings = Settings.from_env(
        {"BREWERIES_HTTP_CONCURRENCY": "8", "BREWERIES_PSEUDONYMIZE_COLUMNS": " name, phone ,street "}
    )
    assert settings.http_concurrency == 8
    assert settings.pseudonymize_columns == ("name", "phone", "street")


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"BREWERIES_HTTP_CONCURRENCY": "four"}, "BREWERIES_HTTP_CONCURRENCY"),
        ({"BREWERIES_HTTP_CONCURRENCY": "0"}, "BREWERIES_HTTP_CONCURRENCY"),
        ({"BREWERIES_PAGE_SIZE": "201"}, "BREWERIES_PAGE_SIZE"),
        ({"BREWERIES_LOG_FORMAT": "xml"}, "BREWERIES_LOG_FORMAT"),
        ({"BREWERIES_SPARK_JIT": "fast"}, "BREWERIES_SPARK_JIT"),
        ({"BREWERIES_SPARK_COMMITTER": "rename"}, "BREWERIES_SPARK_COMMITTER"),
        ({"BREWERIES_SPARK_DRIVER_MEMORY": "lots"}, "BREWERIES_SPARK_DRIVER_MEMORY"),
        ({"BREWERIES_SPARK_EXECUTORS_ABOVE": "1.5 GB"}, "BREWERIES_SPARK_EXECUTORS_ABOVE.*256m or 2g"),
        ({"BREWERIES_SNAPSHOT_RETENTION_DAYS": "-1"}, "BREWERIES_SNAPSHOT_RETENTION_DAYS"),
        ({"BREWERIES_CATALOG_URI": "thrift://metastore:9083"}, "BREWERIES_CATALOG_URI"),
        ({"BREWERIES_API_URL": "ftp://x"}, "BREWERIES_API_URL"),
        ({"BREWERIES_STORAGE_ROOT": "gs://bucket"}, "gs://bucket"),
        ({"BREWERIES_LINEAGE_URL": "kafka://broker:9092"}, "BREWERIES_LINEAGE_URL.*http"),
        ({"BREWERIES_LINEAGE_PARENT_RUN_ID": "breweries-x7k2p"}, "BREWERIES_LINEAGE_PARENT_RUN_ID.*UUID"),
    ],
)
def test_bad_values_name_the_setting(env, named):
    with pytest.raises(ValueError, match=named):
        Settings.from_env(env)


def test_secrets_are_not_in_the_repr():
    settings = Settings.from_env(
        {"BREWERIES_PSEUDONYMIZATION_KEY": "hunter2-key", "BREWERIES_WEBHOOK_URL": "http://hook/tok3n"}
    )
    assert "hunter2-key" not in repr(settings) and "tok3n" not in repr(settings)


def test_missing_key_is_refused_with_the_variable_name():
    with pytest.raises(SettingsError, match="BREWERIES_PSEUDONYMIZATION_KEY"):
        Settings.from_env({}).require_pseudonymization_key()


def unreachable_api() -> str:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{probe.getsockname()[1]}/v1"


def test_a_run_without_the_key_stops_before_the_first_stage_naming_it(tmp_path, monkeypatch, capfd):
    root = tmp_path / "lake"
    # Were bronze to start, it would fail at once on this API: exit 1, not 2.
    monkeypatch.setenv("BREWERIES_API_URL", unreachable_api())
    monkeypatch.setenv("BREWERIES_HTTP_MAX_ATTEMPTS", "1")
    monkeypatch.setenv("BREWERIES_STAGE_RETRIES", "0")
    assert main(["run", "--storage-root", str(root), "--date", "2026-01-01"]) == SettingsError.exit_code
    err = capfd.readouterr().err
    assert [line for line in err.splitlines() if " ERROR " in line] == err.splitlines()[-1:]
    assert "BREWERIES_PSEUDONYMIZATION_KEY is not set: stage silver_anonymized needs it" in err
    assert "or run --stages bronze,silver,quality" in err  # what runs without it
    assert "started" not in err and not root.exists()  # no stage ran, nothing was written


def test_only_the_chosen_stages_needs_are_checked():
    check_settings(Settings(), ["bronze", "silver", "quality", "gold"])  # none needs the key
    with pytest.raises(SettingsError) as refused:
        check_settings(Settings(), ["silver_anonymized"])
    assert str(refused.value).startswith("BREWERIES_PSEUDONYMIZATION_KEY is not set")
    assert "--stages" not in str(refused.value)  # nothing else was chosen
    check_settings(Settings(pseudonymization_key="k"), STAGE_NAMES)


def test_columns_to_pseudonymize_that_silver_lacks_are_refused_before_the_first_stage():
    settings = Settings(pseudonymization_key="k", pseudonymize_columns=("name", "phon"))
    with pytest.raises(SettingsError, match="BREWERIES_PSEUDONYMIZE_COLUMNS names phon, which silver"):
        check_settings(settings, STAGE_NAMES)
    check_settings(settings, ["bronze", "silver", "quality"])  # no stage that pseudonymizes


def test_an_unknown_variable_is_warned_once_naming_the_closest_and_never_a_value(monkeypatch, capfd):
    monkeypatch.setenv("BREWERIES_STORAGE_ROT", "/x")
    monkeypatch.setenv("BREWERIES_PSEUDONYMISATION_KEY", "hunter2-secret-value")
    monkeypatch.setenv("BREWERIES_STAGE", "silver")  # read by a stage image's entry point
    monkeypatch.setenv("BREWERIES_NODE_IP", "10.0.0.1")  # read by the local cluster's scripts
    assert main(["access-policies", "--list"]) == 0
    out, err = capfd.readouterr()
    warnings = [line.split(" WARNING ", 1)[1] for line in err.splitlines() if " WARNING " in line]
    assert [w.split("  command=")[0] for w in warnings] == [
        "unknown setting BREWERIES_PSEUDONYMISATION_KEY; did you mean BREWERIES_PSEUDONYMIZATION_KEY?",
        "unknown setting BREWERIES_STORAGE_ROT; did you mean BREWERIES_STORAGE_ROOT?",
    ]
    assert "hunter2" not in out + err


# The repository's own names for BREWERIES_* variables that are not read from the environment.
NOT_READ = {"BREWERIES_IMAGES"}  # k8s/cluster-up.sh assigns it for itself


def test_every_breweries_variable_the_repository_names_is_known():
    # Everything that sets or reads one (the chart, the images, scripts, tests, docs), so that no
    # variable the project uses is ever warned about. This file is left out: it holds the typos.
    repo = Path(__file__).resolve().parents[2]
    files = [repo / name for name in ("Makefile", "README.md", "pyproject.toml")] + [
        path
        for folder in ("argo", "bench", "docs", "helm", "images", "jobs", "k8s", "tests")
        for path in (repo / folder).rglob("*")
        if path.is_file() and path.suffix not in (".gz", ".pyc")
    ]
    named = {
        name
        for path in files
        if path != Path(__file__).resolve()
        for name in re.findall(r"\bBREWERIES_[A-Z0-9_]*[A-Z0-9]\b", path.read_text(errors="ignore"))
    }
    assert named - NOT_READ - set(known_variables()) == set()


def test_spark_submit_is_detected_from_its_gateway():
    assert Settings.from_env({"PYSPARK_GATEWAY_PORT": "40000"}).spark_submitted
    assert not Settings.from_env({}).spark_submitted


def test_every_layer_must_live_on_the_roots_kind_of_storage(tmp_path):
    with pytest.raises(SettingsError, match=r"BREWERIES_GOLD_URI is s3a://gold, but BREWERIES_STORAGE_ROOT"):
        Settings.from_env({"BREWERIES_STORAGE_ROOT": str(tmp_path), "BREWERIES_GOLD_URI": "s3a://gold"})
    with pytest.raises(SettingsError, match=r"BREWERIES_BRONZE_URI is file://.*put every layer on the same"):
        Settings.from_env({"BREWERIES_STORAGE_ROOT": "s3a://lake", "BREWERIES_BRONZE_URI": str(tmp_path)})


def test_the_root_picks_the_storage_backend(tmp_path):
    from breweries.storage import LocalStore, S3Store

    assert isinstance(Settings(storage_root=str(tmp_path)).open_store(), LocalStore)
    store = Settings(storage_root="s3a://lake", s3_endpoint_url="http://127.0.0.1:9000").open_store()
    assert isinstance(store, S3Store) and store.endpoint_url == "http://127.0.0.1:9000"


def test_path_style_follows_the_endpoint_unless_set():
    assert Settings(storage_root="s3a://lake").s3_path_style is False  # AWS: virtual-hosted buckets
    assert Settings(storage_root="s3a://lake", s3_endpoint_url="http://minio:9000").s3_path_style is True
    off = Settings.from_env(
        {
            "BREWERIES_STORAGE_ROOT": "s3a://lake",
            "BREWERIES_S3_ENDPOINT": "https://s3.example.com",
            "BREWERIES_S3_PATH_STYLE_ACCESS": "false",
        }
    )
    assert off.s3_path_style is False and off.open_store().path_style is False
    with pytest.raises(
        SettingsError, match="BREWERIES_S3_PATH_STYLE_ACCESS must be true or false, got 'yes'"
    ):
        Settings.from_env({"BREWERIES_S3_PATH_STYLE_ACCESS": "yes"})


def test_spark_log_level_is_one_of_log4js():
    assert Settings.from_env({"BREWERIES_SPARK_LOG_LEVEL": "WARN"}).spark_log_level == "WARN"
    with pytest.raises(SettingsError, match="BREWERIES_SPARK_LOG_LEVEL must be one of off, fatal, error"):
        Settings.from_env({"BREWERIES_SPARK_LOG_LEVEL": "loud"})


def test_a_run_on_local_folders_gets_the_table_jars_and_no_s3_connector(spark):
    # The shared test session is a local-folder one: Iceberg and the catalog's drivers, no S3A.
    conf = spark.sparkContext.getConf()
    jars = [Path(j).name for j in conf.get("spark.driver.extraClassPath").split(":")]
    assert [j.split("-")[0] for j in jars] == ["iceberg", "postgresql", "sqlite"]
    assert conf.get("spark.sql.sources.commitProtocolClass") is None
    assert (
        conf.get("spark.sql.extensions")
        == "org.apache.iceberg.spark.extensions.IcebergSparkSessionExtensions"
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("0", 0),
        ("1048576", 1048576),
        ("256m", 256 * 2**20),
        ("2g", 2 * 2**30),
        ("2Gi", 2 * 2**30),
        ("1T", 2**40),
    ],
)
def test_the_executors_threshold_is_a_size_in_bytes(text, expected):
    assert (
        Settings.from_env({"BREWERIES_SPARK_EXECUTORS_ABOVE": text}).spark_executors_above_bytes == expected
    )
