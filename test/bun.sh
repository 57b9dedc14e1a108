#!/usr/bin/env bash
# The test suite under Bun (`npm run test:bun`): the library runs on Bun, and this keeps it so.
# Bun comes from PATH, or from bench/.work/bun (installed from the npm registry, as bench/setup.sh does).
# Left out, with the reason:
#   test/bench/**  the benchmark harness is a Node tool: it runs contenders on the pinned Node and reads their
#                  CPU time; under Bun it would start itself as the "Node" contenders. `npm test` runs it.
# Bun's default per-test timeout (5 s) is shorter than some of our tests, which wait out real timeouts.
set -euo pipefail
cd "$(dirname "$0")/.."
bun=$(command -v bun || true)
if [ -z "$bun" ]; then
  bun=bench/.work/bun/node_modules/.bin/bun
  if [ ! -x "$bun" ]; then
    echo "test/bun.sh: installing bun into bench/.work/bun" >&2
    npm install --silent --no-save --no-package-lock --prefix bench/.work/bun bun@1 >/dev/null
  fi
fi
exec "$bun" test --timeout 120000 --path-ignore-patterns 'test/bench/**' test/
