#!/usr/bin/env bash
# A MinIO on this machine for running breweries against object storage:
#
#   k8s/tools/minio.sh up     start it on 127.0.0.1:${MINIO_PORT:-9000} (idempotent) and create the
#                             chart's buckets, one per layer (helm/breweries/values.yaml)
#   k8s/tools/minio.sh down   stop it (its data stays in .tools/minio/data)
#
# Root credentials are random, made once, and kept with the settings that put every layer in its
# bucket in .tools/minio/breweries.env (mode 600); nothing secret is printed.
set -euo pipefail
cd "$(dirname "$0")/../.."
home=.tools/minio
env_file="$home/breweries.env"
pid_file="$home/minio.pid"
port="${MINIO_PORT:-9000}"
python="${PYTHON:-.venv/bin/python}"

running() { [ -f "$pid_file" ] && kill -0 "$(cat "$pid_file")" 2>/dev/null; }

case "${1:-up}" in
  down)
    if running; then kill "$(cat "$pid_file")" && echo "minio: stopped"; else echo "minio: not running"; fi
    rm -f "$pid_file"
    exit 0 ;;
  up) ;;
  *) echo "usage: k8s/tools/minio.sh up|down" >&2; exit 2 ;;
esac

[ -x .tools/bin/minio ] || k8s/tools/build-minio.sh
mkdir -p "$home/data"
if [ ! -f "$env_file" ]; then
  (umask 077; "$python" - "$env_file" "$port" <<'PY'
import os, secrets, sys
import yaml
path, port = sys.argv[1], sys.argv[2]
buckets = yaml.safe_load(open("helm/breweries/values.yaml"))["storage"]["buckets"]
settings = {
    "AWS_ACCESS_KEY_ID": "breweries-" + secrets.token_hex(4),
    "AWS_SECRET_ACCESS_KEY": secrets.token_hex(24),
    "AWS_REGION": "us-east-1",
    "BREWERIES_S3_ENDPOINT": f"http://127.0.0.1:{port}",
    "BREWERIES_STORAGE_ROOT": f"s3a://{buckets['state']}",
    **{f"BREWERIES_{layer.upper()}_URI": f"s3a://{buckets[layer]}"
       for layer in ("bronze", "silver", "silver_anonymized", "gold")},
    # The tables' catalog: a SQLite file beside MinIO's data (the cluster uses PostgreSQL).
    "BREWERIES_CATALOG_URI": f"jdbc:sqlite:{os.path.abspath(os.path.dirname(path))}/iceberg.db",
}
with open(path, "w") as out:
    out.writelines(f"{name}={value}\n" for name, value in settings.items())
PY
  )
fi
set -a
# shellcheck source=/dev/null
. "$env_file"
set +a
endpoint="$BREWERIES_S3_ENDPOINT"

if ! running; then
  MINIO_ROOT_USER="$AWS_ACCESS_KEY_ID" MINIO_ROOT_PASSWORD="$AWS_SECRET_ACCESS_KEY" MINIO_BROWSER=off \
    MINIO_UPDATE=off nohup .tools/bin/minio server "$home/data" --quiet --address "${endpoint#http://}" \
    >"$home/minio.log" 2>&1 &
  echo $! >"$pid_file"
  for _ in $(seq 1 100); do
    curl -fs "$endpoint/minio/health/live" >/dev/null 2>&1 && break
    running || { echo "minio: did not start; see $home/minio.log" >&2; exit 1; }
    sleep 0.2
  done
fi
"$python" - <<'PY'
import os
import boto3
from botocore.config import Config
client = boto3.session.Session().client(
    "s3", endpoint_url=os.environ["BREWERIES_S3_ENDPOINT"], region_name=os.environ["AWS_REGION"],
    config=Config(s3={"addressing_style": "path"}),
)
existing = {b["Name"] for b in client.list_buckets()["Buckets"]}
for name, value in sorted(os.environ.items()):
    if name.startswith("BREWERIES_") and value.startswith("s3a://"):
        bucket = value.removeprefix("s3a://").split("/")[0]
        if bucket not in existing:
            client.create_bucket(Bucket=bucket)
            existing.add(bucket)
print("minio: buckets " + ", ".join(sorted(existing)))
PY
cat <<EOF
minio: $("$PWD/.tools/bin/minio" --version | head -1 | cut -d' ' -f3) at $endpoint (pid $(cat "$pid_file"), data in $home/data)
  settings and credentials: $env_file
  run breweries on it:      set -a; . $env_file; set +a; .venv/bin/breweries run --date 2026-01-01
  stop it:                  make minio-down
EOF
