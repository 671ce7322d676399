#!/usr/bin/env bash
# The jars Spark needs beyond pyspark's own (images/connector-jars.sha256 lists them in groups:
# s3a, tables), downloaded from Maven Central and checked against their SHA-256 pins there.
#
#   k8s/tools/connector-jars.sh DIR [GROUP...]  fetch what DIR lacks of the groups (default: all),
#                                               then check each of those jars in DIR
#   k8s/tools/connector-jars.sh --pin           fetch every listed jar afresh and record its SHA-256
#
# curl, not Maven: a plain download needs nothing installed, and the pins check every byte anyway.
set -euo pipefail
cd "$(dirname "$0")/../.."
pins=images/connector-jars.sha256
central=${MAVEN_CENTRAL:-https://repo1.maven.org/maven2}

coordinates() { # of the groups given, or of all
  local pattern='[a-z0-9]*'
  [ $# -gt 0 ] && pattern="\\($(IFS='|'; echo "${*}" | sed 's/|/\\|/g')\\)"
  sed -n "s/^# maven $pattern: *//p" "$pins"
}

jar_name() { local artifact version; IFS=: read -r _ artifact version <<<"$1"; echo "$artifact-$version.jar"; }

fetch() { # DEST COORDINATE...: download what DEST lacks
  local dest="$1" coordinate group artifact version
  shift
  mkdir -p "$dest"
  for coordinate in "$@"; do
    [ -s "$dest/$(jar_name "$coordinate")" ] && continue
    IFS=: read -r group artifact version <<<"$coordinate"
    echo "connector-jars: fetching $coordinate" >&2
    curl -fsSL --retry 3 -o "$dest/.$artifact-$version.jar.part" \
      "$central/${group//.//}/$artifact/$version/$artifact-$version.jar" || {
      rm -f "$dest/.$artifact-$version.jar.part"
      echo "connector-jars: could not download $coordinate from $central; put the jar in $dest" >&2
      exit 1
    }
    mv "$dest/.$artifact-$version.jar.part" "$dest/$artifact-$version.jar"
  done
}

if [ "${1:-}" = "--pin" ]; then
  work="$(mktemp -d)"
  trap 'rm -rf "$work"' EXIT
  mapfile -t all < <(coordinates)
  fetch "$work" "${all[@]}"
  { sed -n '/^#/p' "$pins"
    for coordinate in "${all[@]}"; do (cd "$work" && sha256sum "$(jar_name "$coordinate")"); done
  } >"$work/pins"
  mv "$work/pins" "$pins"
  cat "$pins"
  exit 0
fi

dest="${1:?usage: connector-jars.sh DIR [GROUP...] | --pin}"
shift
mapfile -t wanted < <(coordinates "$@")
[ "${#wanted[@]}" -gt 0 ] || { echo "connector-jars: no jars in group(s) $* of $pins" >&2; exit 1; }
fetch "$dest" "${wanted[@]}"
checks="$(mktemp)"
trap 'rm -f "$checks"' EXIT
for coordinate in "${wanted[@]}"; do
  grep "  $(jar_name "$coordinate")\$" "$pins" >>"$checks" || {
    echo "connector-jars: $pins has no SHA-256 for $coordinate; run make images-pin" >&2; exit 1; }
done
# Hashing the 560 MB bundle takes seconds, so a stamp records what was checked: the pins and each
# jar's size, time and inode. Any change to either is checked again before it is used.
stamp="$dest/.checked-$(echo "${@:-all}" | tr ' ' '-')"
fingerprint="$(sha256sum "$checks" | cut -d' ' -f1) $(cd "$dest" && for c in "${wanted[@]}"; do stat -c '%n %s %Y %i' "$(jar_name "$c")"; done | tr '\n' ' ')"
[ -f "$stamp" ] && [ "$(cat "$stamp")" = "$fingerprint" ] && exit 0
(cd "$dest" && sha256sum --check --strict --quiet "$checks") || {
  rm -f "$stamp"
  echo "connector-jars: a jar in $dest does not match $pins; delete it and run again" >&2; exit 1; }
echo "$fingerprint" >"$stamp"
