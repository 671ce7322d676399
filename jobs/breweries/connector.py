"""The S3A connector jars for local Spark, which pyspark does not ship.

In a source checkout they are fetched on first need into ``.tools/jars`` by the project's own
``k8s/tools/connector-jars.sh``, which also checks every jar against the SHA-256 pins in
``images/connector-jars.sha256`` each time they are used. Elsewhere, point
``BREWERIES_S3A_JARS_DIR`` at a folder that holds them. The stage images have them built in.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import breweries
from breweries.errors import SettingsError
from breweries.settings import Settings, env_name

# The repository this package runs from, when it runs from a checkout (an editable install).
_CHECKOUT = Path(breweries.__file__).resolve().parents[2]
_FETCH_SCRIPT = _CHECKOUT / "k8s" / "tools" / "connector-jars.sh"


def connector_jars(settings: Settings) -> list[Path]:
    """The jars to put on local Spark's classpath, fetched and checked first where the project can."""
    folder = Path(settings.s3a_jars_dir) if settings.s3a_jars_dir else _CHECKOUT / ".tools" / "jars"
    if _FETCH_SCRIPT.is_file():
        fetched = subprocess.run([_FETCH_SCRIPT, folder], capture_output=True, text=True)
        if fetched.returncode != 0:
            raise SettingsError(
                f"the S3A connector jars for {settings.storage_root} are not ready: "
                f"{fetched.stderr.strip().splitlines()[-1] if fetched.stderr.strip() else 'fetch failed'}"
            )
    jars = sorted(folder.glob("*.jar"))
    if not jars:
        raise SettingsError(
            f"no S3A connector jars in {folder}: set {env_name('s3a_jars_dir')} to a folder holding "
            "hadoop-aws, the AWS SDK v2 bundle and spark-hadoop-cloud (images/connector-jars.sha256)"
        )
    return jars
