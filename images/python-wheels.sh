#!/usr/bin/env bash
# The wheels of the breweries package's runtime dependencies for the images, fetched on the host
# with pip and checked against the SHA-256 pins in images/requirements.txt, so that the image build
# installs them with no network (pip install --no-index --require-hashes).
#
#   images/python-wheels.sh DIR     put every pinned wheel in DIR (pip runs only for missing ones)
#   images/python-wheels.sh --pin   record the hashes of the listed versions in images/requirements.txt
#
# Only pure-Python wheels are taken (any platform, any CPython 3): the same files serve
# apache/spark's Python 3.10 and the stand-in's 3.11. pip resolves the whole dependency tree for
# both, and a dependency that is missing from the list stops the fetch.
set -euo pipefail
cd "$(dirname "$0")/.."
requirements=images/requirements.txt
pure=(--only-binary :all: --platform any --implementation py --abi none)

fail() { echo "python-wheels: $*" >&2; exit 1; }
# A distribution's name as wheel files spell it: lower case, "_" for "-" and ".".
normalize() { tr '[:upper:]' '[:lower:]' | sed 's/[-.]/_/g'; }

# pip download for each Python the images have; $1: folder, the rest: requirement arguments.
download() {
  local dest="$1" python
  shift
  for python in 3.10 3.11; do
    python3 -m pip download --quiet --dest "$dest" "${pure[@]}" --python-version "$python" "$@" \
      >"$dest/.pip.log" 2>&1 || fail "pip could not fetch the wheels for Python $python (log: $dest/.pip.log)"
  done
  rm -f "$dest/.pip.log"
}

if [ "${1:-}" = "--pin" ]; then
  work="$(mktemp -d)"
  trap 'rm -rf "$work"' EXIT
  grep -o '^[A-Za-z0-9_.-]*==[^ \\]*' "$requirements" >"$work/names.txt"
  download "$work" -r "$work/names.txt"
  listed="$(sed 's/==.*//' "$work/names.txt" | normalize | sort)"
  fetched="$(for wheel in "$work"/*.whl; do wheel="${wheel##*/}"; echo "${wheel%%-*}"; done | normalize | sort -u)"
  extra="$(comm -13 <(echo "$listed") <(echo "$fetched") | xargs)"
  [ -z "$extra" ] || fail "the dependencies also need: $extra; add them to $requirements and pin again"
  {
    sed -n '/^#/p' "$requirements"
    while read -r requirement; do
      name="$(echo "${requirement%%==*}" | normalize)"
      wheel="$(cd "$work" && ls ./"$name-${requirement#*==}"-*.whl)"
      echo "$requirement \\"
      echo "    --hash=sha256:$(sha256sum "$work/$wheel" | cut -c1-64)"
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
