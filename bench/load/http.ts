/*
 * `npm run bench -- http`: GET / "Hello, World!" from wirespeed (examples/hello.ts), node:http (same shape,
 * same Node) and nginx (`return 200`, one worker), driven by wrk (or bench/load/loadgen.ts where wrk is
 * missing) with 60 keep-alive connections, then 60 connections with 16 pipelined requests per write.
 *
 * Method: the server is pinned to one core and the load generator to the other; contenders are interleaved
 * (the order rotates each round); each round starts the server fresh, warms it up, then measures each load.
 * Reported: medians of req/s and of server CPU time per request (utime+stime of the server process over
 * the run, from /proc, divided by the replies counted), with ratios to node:http measured in the same run.
 * On a 2-core machine the load generator saturates its core first, so CPU per request is the fairer figure.
 */
import { execFileSync, spawn } from 'node:child_process'
import { mkdirSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { fileURLToPath } from 'node:url'
import { cpuSeconds, getOnce, LOAD_CORE, machineLines, median, pinned, startServer, stopServer, toolVersion, waitForPort, which } from '../lib/measure.ts'

const root = fileURLToPath(new URL('../../', import.meta.url))

export interface HttpBenchOptions {
  quick: boolean
  rounds: number
  seconds: number
  log: (line: string) => void
}

interface Contender {
  name: string
  argv(port: number): string[] | undefined
  missing?: string
}

interface Load {
  name: string
  pipeline: number
}

const loads: Load[] = [
  { name: 'keep-alive', pipeline: 1 },
  { name: 'pipelined ×16', pipeline: 16 },
]

const nginx = which('nginx', '/usr/sbin/nginx')
const wrk = which('wrk')

const contenders: Contender[] = [
  { name: 'wirespeed', argv: () => [process.execPath, `${root}examples/hello.ts`] },
  { name: 'node:http', argv: () => [process.execPath, `${root}bench/load/node-http-hello.ts`] },
  {
    name: 'nginx',
    missing: nginx ? undefined : 'nginx not found (bash bench/setup.sh installs it where apt-get is available)',
    argv: (port) => (nginx ? [nginx, '-e', 'stderr', '-p', nginxPrefix(port), '-c', 'nginx.conf'] : undefined),
  },
]

/** A config for one nginx worker in the foreground, answering like the others (`return 200`). */
function nginxPrefix(port: number): string {
  const prefix = `${root}bench/.work/nginx-${port}/`
  mkdirSync(`${prefix}logs`, { recursive: true })
  writeFileSync(`${prefix}nginx.conf`, `daemon off;
master_process off;
worker_processes 1;
error_log stderr error;
pid ${prefix}nginx.pid;
events { worker_connections 4096; }
http {
  access_log off;
  server_tokens off;
  keepalive_requests 10000000;
  client_body_temp_path ${prefix}body;
  proxy_temp_path ${prefix}proxy;
  fastcgi_temp_path ${prefix}fastcgi;
  uwsgi_temp_path ${prefix}uwsgi;
  scgi_temp_path ${prefix}scgi;
  server {
    listen 127.0.0.1:${port};
    location / { default_type "text/plain; charset=utf-8"; return 200 "Hello, World!"; }
  }
}
`)
  return prefix
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.on('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number }
      server.close(() => resolve(port))
    })
  })
}

interface Run {
  requests: number
  seconds: number
  errors: number
}

/** Runs the load generator pinned to the load core. */
async function generateLoad(port: number, load: Load, seconds: number): Promise<Run> {
  if (wrk) {
    const args = ['-t1', '-c60', `-d${Math.max(1, Math.round(seconds))}s`, `http://127.0.0.1:${port}/`] // wrk takes whole seconds
    if (load.pipeline > 1) args.push('-s', `${root}bench/load/pipeline.lua`, '--', String(load.pipeline))
    const out = await runToEnd(pinned(LOAD_CORE, [wrk, ...args]))
    const match = /(\d+) requests in ([\d.]+)(us|ms|s|m)/.exec(out)
    if (!match) throw new Error(`Cannot read wrk's output: ${out}`)
    const unit = { us: 1e-6, ms: 1e-3, s: 1, m: 60 }[match[3] as 'us' | 'ms' | 's' | 'm']
    const non2xx = Number(/Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1] ?? 0)
    const socketErrors = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out)
    const errors = non2xx + (socketErrors ? socketErrors.slice(1, 4).map(Number).reduce((a, b) => a + b, 0) : 0)
    return { requests: Number(match[1]), seconds: Number(match[2]) * unit, errors }
  }
  const out = await runToEnd(pinned(LOAD_CORE, [process.execPath, `${root}bench/load/loadgen.ts`, '--port', String(port), '--connections', '60', '--pipeline', String(load.pipeline), '--seconds', String(seconds)]))
  return JSON.parse(out.trim().split('\n').at(-1)!) as Run
}

function runToEnd(argv: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    child.stdout.on('data', (bytes: Buffer) => (out += bytes))
    child.stderr.on('data', (bytes: Buffer) => (out += bytes))
    child.on('error', reject)
    child.on('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`${argv.join(' ')} exited with ${code}: ${out}`))))
  })
}

interface Sample {
  requestsPerSecond: number
  cpuMicrosPerRequest: number
}

export async function runHttpBench(options: HttpBenchOptions): Promise<string> {
  const { log } = options
  const samples = new Map<string, Sample[]>()
  const skipped = new Map<string, string>()
  for (const contender of contenders) if (contender.missing) skipped.set(contender.name, contender.missing)
  log(`load generator: ${wrk ? 'wrk' : 'bench/load/loadgen.ts (wrk not found: bash bench/setup.sh installs it)'}`)

  for (let round = 0; round < options.rounds; round++) {
    const order = contenders.map((_, i) => contenders[(i + round) % contenders.length]!)
    for (const contender of order) {
      if (skipped.has(contender.name)) continue
      const port = await freePort()
      const server = startServer(contender.argv(port)!, { PORT: String(port) })
      try {
        await waitForPort(port)
        if (round === 0) {
          const answer = await getOnce(port)
          const good = answer.status === 200 && answer.body === 'Hello, World!'
          log(`${good ? '✔' : '✘'} ${contender.name} answers GET / with ${answer.status} ${JSON.stringify(answer.body.slice(0, 40))}`)
          if (!good) {
            skipped.set(contender.name, `wrong answer: ${answer.status} ${JSON.stringify(answer.body.slice(0, 40))}`)
            continue
          }
        }
        await generateLoad(port, loads[0]!, options.quick ? 0.3 : 1) // warm-up, not measured
        for (const load of loads) {
          const before = cpuSeconds(server.pid!)
          const run = await generateLoad(port, load, options.seconds)
          const after = cpuSeconds(server.pid!)
          if (run.errors > 0) log(`  ${contender.name} ${load.name}: ${run.errors} errors`)
          const sample = {
            requestsPerSecond: run.requests / run.seconds,
            cpuMicrosPerRequest: before !== undefined && after !== undefined && run.requests > 0 ? ((after - before) * 1e6) / run.requests : NaN,
          }
          const key = `${contender.name}\t${load.name}`
          samples.set(key, [...(samples.get(key) ?? []), sample])
          log(`  round ${round + 1} ${contender.name.padEnd(10)} ${load.name.padEnd(14)} ${Math.round(sample.requestsPerSecond).toLocaleString('en-US').padStart(11)} req/s ${sample.cpuMicrosPerRequest.toFixed(2).padStart(7)} µs CPU/req`)
        }
      } finally {
        await stopServer(server)
      }
    }
  }
  return report(samples, skipped, options)
}

function report(samples: Map<string, Sample[]>, skipped: Map<string, string>, options: HttpBenchOptions): string {
  const lines = [
    '# HTTP benchmark: GET / "Hello, World!"',
    '',
    `Command: \`npm run bench -- http${options.quick ? ' --quick' : ''}\` (${options.rounds} round${options.rounds > 1 ? 's' : ''} of ${options.seconds} s per load, contenders interleaved; medians)`,
    '',
    ...machineLines({ nginx: nginx ? toolVersion([nginx, '-v'], /nginx\/([\d.]+)/) : undefined, wrk: wrk ? toolVersion([wrk, '-v'], /wrk (?:debian\/)?([\d.]+)/) : 'not installed (loadgen.ts used)' }),
    '- Load: 60 keep-alive connections; then 60 connections each writing 16 pipelined requests at a time',
    '- Server CPU per request = (utime + stime of the server process during the run) ÷ replies counted',
    '',
    '| Server | Load | req/s | server CPU µs/request | CPU/request vs node:http | req/s vs node:http |',
    '|---|---|---:|---:|---:|---:|',
  ]
  for (const load of loads) {
    const reference = samples.get(`node:http\t${load.name}`)
    const referenceRate = reference ? median(reference.map((s) => s.requestsPerSecond)) : NaN
    const referenceCpu = reference ? median(reference.map((s) => s.cpuMicrosPerRequest)) : NaN
    for (const contender of contenders) {
      const runs = samples.get(`${contender.name}\t${load.name}`)
      if (!runs) continue
      const rate = median(runs.map((s) => s.requestsPerSecond))
      const cpu = median(runs.map((s) => s.cpuMicrosPerRequest))
      lines.push(`| ${contender.name} | ${load.name} | ${Math.round(rate).toLocaleString('en-US')} | ${cpu.toFixed(2)} | ${(cpu / referenceCpu).toFixed(2)}× | ${(rate / referenceRate).toFixed(2)}× |`)
    }
  }
  for (const [name, why] of skipped) lines.push('', `Skipped ${name}: ${why}`)
  return `${lines.join('\n')}\n`
}

export function nodeVersionOf(path: string): string {
  return execFileSync(path, ['--version'], { encoding: 'utf8' }).trim()
}
