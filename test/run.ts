/*
 * `npm test`: every test on the default transport backend (epoll on Linux where koffi loads), then the
 * suites that serve sockets (tcp, http, app, websocket, static, thread, cli, shm) again on the other backend, so both
 * backends keep the same semantics. Each pass is one `node --test` run with WIRESPEED_BACKEND set; the
 * exit code is the first failure's, and a backend that cannot run here is said, not silently skipped.
 */
import { spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { defaultBackend } from '../src/tcp/listen.ts'

const root = fileURLToPath(new URL('../', import.meta.url))
const SOCKET_SUITES = ['tcp', 'http', 'app', 'websocket', 'static', 'thread', 'cli', 'shm'].map((folder) => `test/${folder}/**/*.test.ts`)

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

const first = await defaultBackend()
let status = pass(first, ['test/**/*.test.ts'])
if (first === 'epoll') {
  const second = pass('node', SOCKET_SUITES)
  if (status === 0) status = second
} else {
  process.stdout.write(`\n# wirespeed: the epoll backend cannot run here (${process.platform}, or koffi missing): node only\n`)
}
process.exitCode = status
