#!/usr/bin/env bash
# Makes sure a Docker engine answers before anything is built: a fresh machine has the docker client
# but no engine running. When `docker info` fails it installs Debian's docker.io if dockerd is
# missing, starts dockerd in the background (log in .tools/docker/dockerd.log) and waits for it.
# With an engine already answering it does nothing and prints nothing.
set -euo pipefail
cd "$(dirname "$0")/../.."
tools="$(realpath -m "${TOOLS:-.tools}")"
log="$tools/docker/dockerd.log"
wait_seconds="${DOCKER_ENGINE_WAIT_SECONDS:-60}"

fail() { echo "docker-engine: $*" >&2; exit 1; }

docker info >/dev/null 2>&1 && exit 0

installed=""
if ! command -v dockerd >/dev/null || ! command -v docker >/dev/null; then
  if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null; then
    fail "no Docker engine and no way to install one here: install Docker (Debian: apt-get install docker.io) and start dockerd"
  fi
  mkdir -p "$tools/docker"
  { apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends docker.io; } \
    >"$tools/docker/apt.log" 2>&1 \
    || fail "no Docker engine, and apt-get could not install docker.io: check the network to Debian's packages (log: $tools/docker/apt.log)"
  installed="installed Debian's docker.io, "
fi

[ "$(id -u)" -eq 0 ] || fail "no Docker engine answers and starting dockerd needs root: start it (sudo dockerd &) or fix DOCKER_HOST"
mkdir -p "$(dirname "$log")"
# setsid: the engine outlives this script and whatever make or shell started it.
setsid dockerd >>"$log" 2>&1 </dev/null &
for _ in $(seq "$wait_seconds"); do
  if docker info >/dev/null 2>&1; then
    echo "docker-engine: ${installed}started dockerd (pid $!, log: ${log#"$PWD"/})"
    exit 0
  fi
  sleep 1
done
fail "dockerd did not answer within ${wait_seconds} s; see ${log#"$PWD"/}"
