#!/usr/bin/env bash
# The MinIO client, built from its official Go module at the release k8s/versions.env pins, into
# .tools/bin/mc: the chart's set-up Job runs it in the cluster (k8s/tools/build-images.sh), and
# tests/integration/test_object_store_access.py runs the Job's script with it against a local MinIO.
# Cached: a second call only relinks (k8s/tools/build-cluster.sh builds the same binary).
set -euo pipefail
cd "$(dirname "$0")/../.."
# shellcheck source=/dev/null
source <(sed 's/#.*//' k8s/versions.env)
exec k8s/tools/go-build.sh mc "$MC_MODULE" . \
  -ldflags="-s -w -X github.com/minio/mc/cmd.Version=${MC_RELEASE#RELEASE.} -X github.com/minio/mc/cmd.ReleaseTag=$MC_RELEASE"
