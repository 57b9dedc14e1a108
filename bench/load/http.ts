/*
 * `npm run bench -- http`: GET / "Hello, World!" from wirespeed (examples/hello.ts) on each transport backend
 * (and on every core with worker threads), the floor under it (a C epoll loop with a canned reply, and bare
 * responders on each of wirespeed's backends that count requests without parsing them), node:http (same
 * shape, same Node), Bun.serve and nginx (`return 200`, one worker), with 60 keep-alive
 * connections, then 60 connections with
 * 16 pipelined requests per write. On a 2-core machine the load generator saturates its core first, so the
 * server CPU time per request is the fairer figure. See bench/lib/compare.ts for the method.
 */
import { spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { availableParallelism } from 'node:os'
import { bun, compare, nginx, root, type Contender } from '../lib/compare.ts'
import { buildC } from '../lib/measure.ts'
import { nginxConfig } from './nginx.ts'

export interface SuiteOptions {
  quick: boolean
  rounds: number
  seconds: number
  log: (line: string) => void
}

const floor = `${root}bench/.work/http-floor`
const epollHere = process.platform === 'linux'

/** The C epoll loop with a canned reply: the floor under every HTTP table (the apps table too). */
export const cFloor: Contender = {
  name: 'C epoll floor',
  missing: buildC(`${root}bench/c/http-floor.c`, floor, () => {}),
  argv: (port) => [floor, String(port)],
}

const uringFloor = `${root}bench/.work/http-floor-uring`
const uringFloorBuilt = process.platform === 'linux' ? buildC(`${root}bench/c/http-floor-uring.c`, uringFloor, () => {}) : 'io_uring is Linux only'

/**
 * The same canned reply through io_uring (raw system calls; multishot accept, recv → send → recv,
 * SINGLE_ISSUER | DEFER_TASKRUN | COOP_TASKRUN): the floor a uring backend is measured against. Missing,
 * with the reason its `--probe` gives, where the kernel refuses io_uring (seccomp, kernel.io_uring_disabled).
 * Not in the table yet: one line in `contenders` adds it once the uring backend is measured beside it.
 */
export const cUringFloor: Contender = {
  name: 'C io_uring floor',
  missing: uringFloorBuilt ?? uringRefusal(),
  argv: (port) => [uringFloor, String(port)],
}

function uringRefusal(): string | undefined {
  const probe = spawnSync(uringFloor, ['--probe'], { encoding: 'utf8', timeout: 5000 })
  return probe.status === 0 ? undefined : probe.stderr.trim() || `${uringFloor} --probe failed`
}

/** Count requests, write a canned reply, through koffi: what any server on the epoll backend pays at least. */
export const bareEpollResponder: Contender = {
  name: 'bare responder (epoll)',
  missing: epollHere ? undefined : 'the epoll backend is Linux only',
  env: { WIRESPEED_BACKEND: 'epoll' },
  argv: () => [process.execPath, `${root}bench/load/bare-responder.ts`],
}

const contenders: Contender[] = [
  cFloor,
  bareEpollResponder,
  { name: 'bare responder (node:net)', env: { WIRESPEED_BACKEND: 'node' }, argv: () => [process.execPath, `${root}bench/load/bare-responder.ts`] },
  {
    name: 'wirespeed (epoll)',
    missing: epollHere ? undefined : 'the epoll backend is Linux only',
    env: { WIRESPEED_BACKEND: 'epoll' },
    argv: () => [process.execPath, `${root}examples/hello.ts`],
  },
  { name: 'wirespeed (node:net)', env: { WIRESPEED_BACKEND: 'node' }, argv: () => [process.execPath, `${root}examples/hello.ts`] },
  {
    name: `wirespeed ×${availableParallelism()} workers`,
    // Every core: the workers share them with the load generator (see the note under the table).
    cores: Array.from({ length: availableParallelism() }, (_, i) => i).join(','),
    argv: () => [process.execPath, `${root}bench/load/hello-workers.ts`],
  },
  { name: 'node:http', argv: () => [process.execPath, `${root}bench/load/node-http-hello.ts`] },
  {
    name: 'Bun.serve',
    missing: bun ? undefined : 'bun not found (bash bench/setup.sh installs it from the npm registry)',
    argv: () => [bun!, `${root}bench/load/bun-hello.js`],
  },
  {
    name: 'nginx',
    missing: nginx ? undefined : 'nginx not found (bash bench/setup.sh installs it where apt-get is available)',
    argv: (port) => nginxConfig(port, 'location / { default_type "text/plain; charset=utf-8"; return 200 "Hello, World!"; }'),
  },
]

export function runHttpBench(options: SuiteOptions): Promise<string> {
  return compare({
    ...options,
    title: 'HTTP benchmark: GET / "Hello, World!"',
    command: 'npm run bench -- http',
    contenders,
    loads: [
      { name: 'keep-alive', path: '/', pipeline: 1, expect: 'Hello, World!' },
      { name: 'pipelined ×16', path: '/', pipeline: 16, expect: 'Hello, World!' },
    ],
    reference: existsSync(floor) ? 'C epoll floor' : 'node:http',
    notes: [
      'Load: 60 keep-alive connections; then 60 connections each writing 16 pipelined requests at a time',
      `wirespeed ×${availableParallelism()} workers: one worker thread per core with reusePort, not pinned, so on this ${availableParallelism()}-core machine its workers share the cores with the load generator; its req/s says what the machine as a whole delivers, and requests per server CPU-second what each core's work buys`,
    ],
  })
}
