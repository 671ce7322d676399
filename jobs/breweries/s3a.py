"""The S3A connector's settings, defined once.

Local Spark (``breweries.spark``) applies them whenever the layers live on object storage, and the
chart's SparkApplications render the same keys (``helm/breweries/templates/_sparkapplication.tpl``);
tests/chart checks that the two agree for the chart's values.
"""

from __future__ import annotations

# The standard AWS variables (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN): in a
# cluster they come from a Secret, never from a manifest.
CREDENTIALS_PROVIDER = "software.amazon.awssdk.auth.credentials.EnvironmentVariableCredentialsProvider"
# IAM roles for service accounts (EKS): the pod's web identity token (AWS_WEB_IDENTITY_TOKEN_FILE,
# AWS_ROLE_ARN), exchanged with STS for the role's temporary credentials; no key in any Secret.
WEB_IDENTITY_PROVIDER = "software.amazon.awssdk.auth.credentials.WebIdentityTokenFileCredentialsProvider"

# S3A's output committers (fs.s3a.committer.name), which Spark reaches through spark-hadoop-cloud's
# commit protocol. The default, magic, writes task output as pending multipart uploads and
# completes them at job commit: no rename (which S3 does not have) and no output from a failed
# task. The staging ones (directory, partitioned) need a filesystem shared by the cluster; file is
# the classic rename-based committer. A setting (BREWERIES_SPARK_COMMITTER; the chart's
# spark.committer).
COMMITTERS = ("magic", "directory", "partitioned", "file")
DEFAULT_COMMITTER = "magic"

SPARK_CONF: dict[str, str] = {
    "spark.sql.sources.commitProtocolClass": "org.apache.spark.internal.io.cloud.PathOutputCommitProtocol",
    "spark.sql.parquet.output.committer.class": (
        "org.apache.spark.internal.io.cloud.BindingParquetOutputCommitter"
    ),
}


def hadoop_conf(
    *, endpoint: str | None, region: str, path_style: bool, committer: str, web_identity: bool = False
) -> dict[str, str]:
    """The ``fs.s3a.*`` settings for an endpoint (None: AWS), its region and addressing style, the
    output committer, with credentials from the AWS variables or, with ``web_identity``, from the
    pod's IAM role (IRSA)."""
    conf: dict[str, str] = {}
    if endpoint:
        conf["fs.s3a.endpoint"] = endpoint
        conf["fs.s3a.connection.ssl.enabled"] = str(endpoint.startswith("https://")).lower()
    conf["fs.s3a.endpoint.region"] = region
    conf["fs.s3a.path.style.access"] = str(path_style).lower()
    conf["fs.s3a.committer.name"] = committer
    conf["fs.s3a.aws.credentials.provider"] = WEB_IDENTITY_PROVIDER if web_identity else CREDENTIALS_PROVIDER
    return conf
