#!/usr/bin/env bash
# Installs the benchmark contenders and load generators that are missing: wrk, nginx, httperf (with
# apt-get where it is available, as root or with sudo; elsewhere it says what to install by hand), and Bun
# (from the npm registry, into bench/.work/bun, never into the project's dependencies).
# Idempotent: a tool already there is left alone.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
if ! command -v bun >/dev/null 2>&1 && [ ! -x "$root/bench/.work/bun/node_modules/.bin/bun" ]; then
  echo "bench/setup.sh: installing bun into bench/.work/bun" >&2
  npm install --silent --no-save --no-package-lock --prefix "$root/bench/.work/bun" bun@1 >/dev/null 2>&1 ||
    echo "bench/setup.sh: could not install bun from the npm registry; the Bun contender will be skipped" >&2
fi

want=()
for tool in wrk nginx httperf; do
  command -v "$tool" >/dev/null 2>&1 || [ -x "/usr/sbin/$tool" ] || want+=("$tool")
done
[ ${#want[@]} -eq 0 ] && exit 0

if ! command -v apt-get >/dev/null 2>&1; then
  echo "bench/setup.sh: no apt-get here; install ${want[*]} with your package manager to run every contender" >&2
  exit 0
fi
sudo=''
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then sudo='sudo'; else
    echo "bench/setup.sh: not root and no sudo; install ${want[*]} to run every contender" >&2
    exit 0
  fi
fi
echo "bench/setup.sh: installing ${want[*]}" >&2
$sudo apt-get update -qq >/dev/null
# nginx-light is enough (no extra modules); the service is never started: the bench runs its own nginx.
packages=()
for tool in "${want[@]}"; do
  case "$tool" in nginx) packages+=(nginx-light) ;; *) packages+=("$tool") ;; esac
done
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null
