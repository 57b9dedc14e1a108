/*
 * `npm test`: every test on the default transport backend (the first of the registry, src/tcp/backends.ts,
 * that runs here: epoll on Linux where koffi loads), then the suites that serve sockets (tcp, http, app,
 * websocket, static, serve, thread, cli, shm) again on every other backend that runs here, so all keep the same
 * semantics. Each pass is one `node --test` run with WIRESPEED_BACKEND set; the exit code is the first
 * failure's, and a backend that cannot run here is said, not silently skipped.
 */
import { spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { backendsHere } from '../src/tcp/backends.ts'

const root = fileURLToPath(new URL('../', import.meta.url))
const SOCKET_SUITES = ['tcp', 'http', 'app', 'websocket', 'static', 'serve', 'thread', 'cli', 'shm'].map((folder) => `test/${folder}/**/*.test.ts`)

function pass(backend: string, files: string[]): number {
  process.stdout.write(`\n# wirespeed: ${files.length === 1 ? 'every test' : 'the socket suites'} on the ${backend} backend\n`)
  const result = spawnSync(process.execPath, ['--test', '--test-force-exit', ...files], {
    cwd: root,
    stdio: 'inherit',
    env: { ...process.env, WIRESPEED_BACKEND: backend },
  })
  return result.status ?? 1
}

// The browser WebSocket test needs Chromium: installed here where apt is (said and skipped otherwise).
spawnSync('bash', ['test/setup-browser.sh'], { cwd: root, stdio: 'inherit' })

const { here, missing } = await backendsHere()
let status = pass(here[0]!, ['test/**/*.test.ts'])
for (const backend of here.slice(1)) {
  const next = pass(backend, SOCKET_SUITES)
  if (status === 0) status = next
}
for (const { name, reason } of missing) process.stdout.write(`\n# wirespeed: the ${name} backend cannot run here (${reason})\n`)
process.exitCode = status
