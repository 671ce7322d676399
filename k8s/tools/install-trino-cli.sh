#!/usr/bin/env bash
# Installs Trino's command-line client at the server's pinned version (TRINO_VERSION in
# k8s/versions.env) as $1/trino (default .tools/bin): the executable jar io.trino:trino-cli from
# Maven Central, checked against the SHA-256 pinned here, and a wrapper that runs it with the
# first Java 17+ it finds (JAVA_HOME, then java on PATH).
set -euo pipefail
cd "$(dirname "$0")/../.."
dest="${1:-.tools/bin}"
# shellcheck source=/dev/null
source <(sed 's/#.*//' k8s/versions.env)
version="${TRINO_VERSION:?k8s/versions.env pins TRINO_VERSION}"
declare -A sha256=(
  [476]=fe4e9c7fb569cd67673afa1622945f6308e1e59bdb825419352b80887661757b
)
pin="${sha256[$version]:-}"
[ -n "$pin" ] || { echo "install-trino-cli: no SHA-256 pinned for trino-cli $version: add it to $0" >&2; exit 1; }
jar="$(realpath -m "${TOOLS:-.tools}")/trino/trino-cli-$version-executable.jar"
url="${MAVEN_CENTRAL_URL:-https://repo1.maven.org/maven2}/io/trino/trino-cli/$version/trino-cli-$version-executable.jar"

if ! echo "$pin  $jar" | sha256sum --check --quiet --strict 2>/dev/null; then
  mkdir -p "$(dirname "$jar")"
  curl -fsSL --retry 3 -o "$jar.partial" "$url" || { echo "install-trino-cli: could not fetch $url" >&2; exit 1; }
  echo "$pin  $jar.partial" | sha256sum --check --quiet --strict \
    || { echo "install-trino-cli: $url does not match the SHA-256 pinned in $0" >&2; exit 1; }
  mv "$jar.partial" "$jar"
fi
mkdir -p "$dest"
cat >"$dest/trino" <<WRAPPER
#!/bin/sh
# Trino CLI $version (installed by k8s/tools/install-trino-cli.sh).
exec "\${JAVA_HOME:+\$JAVA_HOME/bin/}java" -jar "$jar" "\$@"
WRAPPER
chmod 0755 "$dest/trino"
"$dest/trino" --version
