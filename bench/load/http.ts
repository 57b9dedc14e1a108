/*
 * `npm run bench -- http`: GET / "Hello, World!" from wirespeed (examples/hello.ts; and on every core with
 * worker threads), node:http (same shape, same Node), Bun.serve and nginx (`return 200`, one worker), with 60 keep-alive
 * connections, then 60 connections with
 * 16 pipelined requests per write. On a 2-core machine the load generator saturates its core first, so the
 * server CPU time per request is the fairer figure. See bench/lib/compare.ts for the method.
 */
import { availableParallelism } from 'node:os'
import { bun, compare, nginx, root, type Contender } from '../lib/compare.ts'
import { nginxConfig } from './nginx.ts'

export interface SuiteOptions {
  quick: boolean
  rounds: number
  seconds: number
  log: (line: string) => void
}

const contenders: Contender[] = [
  { name: 'wirespeed', argv: () => [process.execPath, `${root}examples/hello.ts`] },
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
    reference: 'node:http',
    notes: [
      'Load: 60 keep-alive connections; then 60 connections each writing 16 pipelined requests at a time',
      `wirespeed ×${availableParallelism()} workers: one worker thread per core with reusePort, not pinned, so on this ${availableParallelism()}-core machine its workers share the cores with the load generator; its req/s says what the machine as a whole delivers, and requests per server CPU-second what each core's work buys`,
    ],
  })
}
