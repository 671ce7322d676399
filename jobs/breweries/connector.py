"""The jars local Spark needs beyond pyspark's own: Apache Iceberg's runtime and its catalog's JDBC
drivers always, the S3A connector when the layers are on object storage.

In a source checkout they are fetched on first need into ``.tools/jars`` by the project's own
``k8s/tools/connector-jars.sh``, which checks every jar against the SHA-256 pins in
``images/connector-jars.sha256`` each time they are used. Elsewhere, point
``BREWERIES_SPARK_JARS_DIR`` at a folder that holds them. The stage images have them built in.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import breweries
from breweries.errors import SettingsError
from breweries.settings import Settings, env_name

# The repository this package runs from, when it runs from a checkout (an editable install).
_CHECKOUT = Path(breweries.__file__).resolve().parents[2]
_FETCH_SCRIPT = _CHECKOUT / "k8s" / "tools" / "connector-jars.sh"
_PINS = _CHECKOUT / "images" / "connector-jars.sha256"
# Each group's jars by name, for a folder given by hand (no pins file beside an installed package).
_GROUP_JARS = {
    "tables": ("iceberg-spark-runtime-", "sqlite-jdbc-", "postgresql-"),
    "s3a": ("hadoop-aws-", "bundle-", "spark-hadoop-cloud"),
}


def jar_groups(settings: Settings) -> list[str]:
    return ["tables", "s3a"] if settings.uses_s3a else ["tables"]


def spark_jars(settings: Settings) -> list[Path]:
    """The jars to put on local Spark's classpath, fetched and checked first where the project can."""
    folder = Path(settings.spark_jars_dir) if settings.spark_jars_dir else _CHECKOUT / ".tools" / "jars"
    groups = jar_groups(settings)
    if _FETCH_SCRIPT.is_file():
        fetched = subprocess.run([_FETCH_SCRIPT, folder, *groups], capture_output=True, text=True)
        if fetched.returncode != 0:
            last = fetched.stderr.strip().splitlines()[-1] if fetched.stderr.strip() else "fetch failed"
            raise SettingsError(f"the Spark jars ({', '.join(groups)}) are not ready in {folder}: {last}")
        names = set(re.findall(r"^[0-9a-f]{64}  (\S+)$", _PINS.read_text(), re.MULTILINE))
        return sorted(jar for jar in folder.glob("*.jar") if jar.name in names and _in_groups(jar, groups))
    jars = sorted(jar for jar in folder.glob("*.jar") if _in_groups(jar, groups))
    missing = [p for g in groups for p in _GROUP_JARS[g] if not any(j.name.startswith(p) for j in jars)]
    if missing:
        raise SettingsError(
            f"{folder} lacks the jars {', '.join(p.rstrip('-') for p in missing)}: set "
            f"{env_name('spark_jars_dir')} to a folder holding the jars images/connector-jars.sha256 lists"
        )
    return jars


def _in_groups(jar: Path, groups: list[str]) -> bool:
    return any(jar.name.startswith(prefix) for g in groups for prefix in _GROUP_JARS[g])
