#!/usr/bin/env bash
# The S3A connector jars (pyspark and apache/spark ship none), fetched with Maven from Maven Central
# and checked against the SHA-256 pins in images/connector-jars.sha256, which also lists them.
#
#   k8s/tools/connector-jars.sh DIR     fetch what DIR lacks, then check every pinned jar in DIR
#   k8s/tools/connector-jars.sh --pin   fetch into a temporary folder and record their SHA-256
#
# Maven checks each download against the checksum the repository publishes (--strict-checksums);
# the pins then make any later change of a jar fail the build instead of entering it.
set -euo pipefail
cd "$(dirname "$0")/../.."
pins=images/connector-jars.sha256
coordinates=$(sed -n 's/^# maven: *//p' "$pins")

fetch() { # into $1 every listed jar it lacks
  local dest="$1" coordinate artifact version
  mkdir -p "$dest"
  for coordinate in $coordinates; do
    IFS=: read -r _ artifact version <<<"$coordinate"
    [ -s "$dest/$artifact-$version.jar" ] && continue
    command -v mvn >/dev/null || {
      echo "connector-jars: Maven (mvn) is needed once to fetch $coordinate; install it, or put the jar in $dest" >&2
      exit 1
    }
    echo "connector-jars: fetching $coordinate" >&2
    mvn -q -B --strict-checksums dependency:copy -Dartifact="$coordinate:jar" -DoutputDirectory="$dest" \
      >"$dest/.mvn.log" 2>&1 || {
      echo "connector-jars: Maven could not fetch $coordinate (log: $dest/.mvn.log)" >&2
      exit 1
    }
    rm -f "$dest/.mvn.log"
  done
}

if [ "${1:-}" = "--pin" ]; then
  work="$(mktemp -d)"
  trap 'rm -rf "$work"' EXIT
  fetch "$work"
  {
    sed -n '/^#/p' "$pins"
    for coordinate in $coordinates; do
      IFS=: read -r _ artifact version <<<"$coordinate"
      (cd "$work" && sha256sum "$artifact-$version.jar")
    done
  } >"$work/pins"
  mv "$work/pins" "$pins"
  cat "$pins"
  exit 0
fi

dest="${1:?usage: connector-jars.sh DIR | --pin}"
fetch "$dest"
pinned=$(grep -c '^[0-9a-f]\{64\}  ' "$pins" || true)
[ "$pinned" -eq "$(wc -w <<<"$coordinates")" ] || {
  echo "connector-jars: $pins pins $pinned of the listed jars; run make images-pin" >&2; exit 1; }
# Hashing the 560 MB bundle takes seconds, so a stamp records what was checked: the pins and each
# jar's size, time and inode. Any change to either is checked again before it is used.
stamp="$dest/.checked"
fingerprint="$(sha256sum "$pins" | cut -d' ' -f1) $(cd "$dest" && stat -c '%n %s %Y %i' ./*.jar | tr '\n' ' ')"
[ -f "$stamp" ] && [ "$(cat "$stamp")" = "$fingerprint" ] && exit 0
(cd "$dest" && sha256sum --check --strict --quiet "$OLDPWD/$pins") || {
  rm -f "$stamp"
  echo "connector-jars: a jar in $dest does not match $pins; delete it and run again" >&2; exit 1; }
echo "$fingerprint" >"$stamp"
