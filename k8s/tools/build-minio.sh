#!/usr/bin/env bash
# MinIO, built from its official Go module at the release k8s/versions.env pins (MinIO no longer
# publishes binaries), into .tools/bin/minio. Cached: a second call only relinks.
set -euo pipefail
cd "$(dirname "$0")/../.."
# shellcheck source=/dev/null
source <(sed 's/#.*//' k8s/versions.env)
# What `minio --version` reports, as MinIO's own release builds set it: the tag's time.
stamp="${MINIO_RELEASE#RELEASE.}"
time_of_day="${stamp#*T}"
version="${stamp%%T*}T${time_of_day//-/:}"
exec k8s/tools/go-build.sh minio "$MINIO_MODULE" . \
  -ldflags "-s -w -X github.com/minio/minio/cmd.Version=$version -X github.com/minio/minio/cmd.ReleaseTag=$MINIO_RELEASE"
