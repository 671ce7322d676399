#!/usr/bin/env bash
# The wheels of the breweries package's runtime dependencies for the images, fetched on the host
# with pip and checked against the SHA-256 pins in images/requirements.txt, so that the image build
# installs them with no network (pip install --no-index --require-hashes).
#
#   images/python-wheels.sh DIR     put every pinned wheel in DIR (pip runs only for missing ones)
#   images/python-wheels.sh --pin   record the hashes of the listed versions in images/requirements.txt
#
# Pure-Python wheels serve every image (any platform, any CPython 3: apache/spark's Python 3.10 and
# the stand-in's 3.11). A package that publishes none (in $compiled) is pinned as its manylinux
# wheel for each of those Pythons and each architecture an image may be built for, one hash per
# wheel. pip resolves the whole dependency tree for each, and a dependency that is missing from the
# list stops the fetch; but pip judges environment markers by the Python it runs on, so what only
# an older Python needs (exceptiongroup, anyio's on 3.10) is listed by hand.
set -euo pipefail
cd "$(dirname "$0")/.."
requirements=images/requirements.txt
pythons=(3.10 3.11)
architectures=(x86_64 aarch64)
compiled=(pyyaml)

fail() { echo "python-wheels: $*" >&2; exit 1; }
# A distribution's name as wheel files spell it: lower case, "_" for "-" and ".".
normalize() { tr '[:upper:]' '[:lower:]' | sed 's/[-.]/_/g'; }

# pip download for each Python and architecture; $1: folder, the rest: requirement arguments. With
# hashes, pip takes only the pinned files: a package's pure wheel even where a compiled one exists.
download() {
  local dest="$1" python arch
  shift
  for python in "${pythons[@]}"; do
    for arch in "${architectures[@]}"; do
      python3 -m pip download --quiet --dest "$dest" --only-binary :all: --platform "manylinux2014_$arch" \
        --implementation cp --python-version "$python" --abi "cp${python/./}" --abi abi3 --abi none "$@" \
        >"$dest/.pip.log" 2>&1 || fail "pip could not fetch the wheels for Python $python on $arch (log: $dest/.pip.log)"
    done
  done
  rm -f "$dest/.pip.log"
}

if [ "${1:-}" = "--pin" ]; then
  work="$(mktemp -d)"
  trap 'rm -rf "$work"' EXIT
  grep -o '^[A-Za-z0-9_.-]*==[^ \\]*' "$requirements" >"$work/names.txt"
  compiled_names="^($(IFS='|'; echo "${compiled[*]}"))=="
  grep -viE "$compiled_names" "$work/names.txt" >"$work/pure.txt"
  grep -iE "$compiled_names" "$work/names.txt" >"$work/compiled.txt" || true
  # Each listed version alone (a pure download of the whole tree stops at a compiled package);
  # then the whole tree, only to find what the list lacks.
  for python in "${pythons[@]}"; do
    python3 -m pip download --quiet --dest "$work" --no-deps --only-binary :all: --platform any \
      --implementation py --abi none --python-version "$python" -r "$work/pure.txt" >"$work/.pip.log" 2>&1 \
      || fail "pip could not fetch a pure-Python wheel for Python $python: $(tail -1 "$work/.pip.log")"
  done
  [ ! -s "$work/compiled.txt" ] || download "$work" --no-deps -r "$work/compiled.txt"
  mkdir "$work/tree"
  download "$work/tree" -r "$work/names.txt"
  listed="$(sed 's/==.*//' "$work/names.txt" | normalize | sort)"
  fetched="$(for wheel in "$work"/tree/*.whl; do wheel="${wheel##*/}"; echo "${wheel%%-*}"; done | normalize | sort -u)"
  extra="$(comm -13 <(echo "$listed") <(echo "$fetched") | xargs)"
  [ -z "$extra" ] || fail "the dependencies also need: $extra; add them to $requirements and pin again"
  {
    sed -n '/^#/p' "$requirements"
    while read -r requirement; do
      name="$(echo "${requirement%%==*}" | normalize)"
      hashes="$(cd "$work" && sha256sum ./"$name-${requirement#*==}"-*.whl | cut -c1-64)"
      echo "$requirement \\"
      sed 's/^/    --hash=sha256:/; $!s/$/ \\/' <<<"$hashes"
    done <"$work/names.txt"
  } >"$work/requirements.txt"
  mv "$work/requirements.txt" "$requirements"
  cat "$requirements"
  exit 0
fi

dest="${1:?usage: python-wheels.sh DIR | --pin}"
mkdir -p "$dest"
have() { # every pinned hash is the hash of a wheel in $dest
  local pinned present
  pinned="$(sed -n 's/.*--hash=sha256:\([0-9a-f]\{64\}\).*/\1/p' "$requirements" | sort)"
  present="$(cd "$dest" && { ls ./*.whl >/dev/null 2>&1 && sha256sum ./*.whl; } | cut -c1-64 | sort)"
  [ -z "$(comm -23 <(echo "$pinned") <(echo "$present"))" ]
}
if ! have; then
  echo "python-wheels: fetching the pinned wheels of images/requirements.txt" >&2
  download "$dest" --require-hashes -r "$requirements"
  have || fail "the wheels in $dest do not match the hashes in $requirements"
fi
