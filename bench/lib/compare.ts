/*
 * A whole-server comparison: contenders × loads, interleaved over rounds, medians and ratios to a reference
 * measured in the same run, written as a markdown table.
 *
 * Each round starts each contender fresh (pinned to the server core), checks its answer to every load's
 * path before timing anything (✔/✘; a wrong answer drops the contender), warms it up, then runs each load
 * with wrk (or bench/load/loadgen.ts where wrk is missing) pinned to the other core, reading the server's
 * CPU time from /proc before and after.
 */
import { spawn } from './children.ts'
import { createServer } from 'node:net'
import { fileURLToPath } from 'node:url'
import { cpuSeconds, getOnce, LOAD_CORE, machineLines, median, pinned, startServer, stopServer, toolVersion, waitForPort, which } from './measure.ts'

export const root = fileURLToPath(new URL('../../', import.meta.url))
export const nginx = which('nginx', '/usr/sbin/nginx')
export const bun = which('bun', `${root}bench/.work/bun/node_modules/.bin/bun`)
const wrk = which('wrk')

export interface Contender {
  name: string
  /** The command that serves on `port`. */
  argv(port: number): string[]
  /** Why it cannot run here (then it is skipped, saying so). */
  missing?: string
  /** Cores it may run on, as a taskset list (default: the server core only). */
  cores?: string
  /** Environment for the server (WIRESPEED_BACKEND, say). */
  env?: Record<string, string>
  /** The names of the only loads it serves (default: every load): a floor that answers every request alike. */
  loads?: string[]
}

export interface Load {
  name: string
  path: string
  pipeline: number
  /** The body every contender must answer the path with. */
  expect: Buffer | string
  /** A JSON body to POST (a GET without it). */
  body?: string
}

export interface CompareOptions {
  title: string
  command: string
  contenders: Contender[]
  loads: Load[]
  reference: string
  notes: string[]
  quick: boolean
  rounds: number
  seconds: number
  log: (line: string) => void
}

interface Sample {
  round: number
  requestsPerSecond: number
  cpuMicrosPerRequest: number
  loadBusy: number
}

interface Run {
  requests: number
  seconds: number
  errors: number
  /** The load generator's CPU time over the run's length (its own core): near 1, req/s is its limit. */
  loadBusy: number
}

export async function compare(options: CompareOptions): Promise<string> {
  const { log, contenders, loads } = options
  const samples = new Map<string, Sample[]>()
  const skipped = new Map<string, string>()
  for (const contender of contenders) if (contender.missing) skipped.set(contender.name, contender.missing)
  log(`load generator: ${wrk ? 'wrk' : 'bench/load/loadgen.ts (wrk not found: bash bench/setup.sh installs it)'}`)

  for (let round = 0; round < options.rounds; round++) {
    const order = contenders.map((_, i) => contenders[(i + round) % contenders.length]!)
    for (const contender of order) {
      if (skipped.has(contender.name)) continue
      const served = contender.loads === undefined ? loads : loads.filter((load) => contender.loads!.includes(load.name))
      const port = await freePort()
      const server = startServer(contender.argv(port), { PORT: String(port), ...contender.env }, contender.cores)
      try {
        await waitForPort(port)
        if (round === 0 && !(await answersRight(contender, port, served, log))) {
          skipped.set(contender.name, 'wrong answer (see the ✘ line)')
          continue
        }
        await generateLoad(port, served[0]!, 1) // warm-up, not measured
        for (const load of served) {
          const before = cpuSeconds(server.pid!)
          const run = await generateLoad(port, load, options.seconds)
          const after = cpuSeconds(server.pid!)
          if (run.errors > 0) log(`  ${contender.name} ${load.name}: ${run.errors} errors`)
          const sample = {
            round,
            requestsPerSecond: run.requests / run.seconds,
            cpuMicrosPerRequest: before !== undefined && after !== undefined && run.requests > 0 ? ((after - before) * 1e6) / run.requests : NaN,
            loadBusy: run.loadBusy,
          }
          const key = `${contender.name}\t${load.name}`
          samples.set(key, [...(samples.get(key) ?? []), sample])
          log(`  round ${round + 1} ${contender.name.padEnd(10)} ${load.name.padEnd(16)} ${Math.round(sample.requestsPerSecond).toLocaleString('en-US').padStart(11)} req/s ${sample.cpuMicrosPerRequest.toFixed(2).padStart(7)} µs CPU/req`)
        }
      } finally {
        await stopServer(server)
      }
    }
  }
  return report(samples, skipped, options)
}

async function answersRight(contender: Contender, port: number, loads: Load[], log: (line: string) => void): Promise<boolean> {
  for (const load of loads) {
    const answer = await getOnce(port, load.path, load.body)
    const expected = typeof load.expect === 'string' ? load.expect : load.expect.toString('latin1')
    const good = answer.status === 200 && answer.body === expected
    log(`${good ? '✔' : '✘'} ${contender.name} answers ${load.body === undefined ? 'GET' : 'POST'} ${load.path} with ${answer.status} and ${answer.body.length} bytes${good ? '' : ` (expected 200 and ${expected.length} bytes)`}`)
    if (!good) return false
  }
  return true
}

/** A port free on 127.0.0.1 now (the contender binds it right after). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.on('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number }
      server.close(() => resolve(port))
    })
  })
}

/** Runs the load generator pinned to the load core. */
async function generateLoad(port: number, load: Load, seconds: number): Promise<Run> {
  const url = `http://127.0.0.1:${port}${load.path}`
  if (wrk) {
    const args = ['-t1', '-c60', `-d${Math.max(1, Math.round(seconds))}s`, url] // wrk takes whole seconds
    if (load.body !== undefined) args.push('-s', `${root}bench/load/post.lua`, '--', load.path, load.body)
    else if (load.pipeline > 1) args.push('-s', `${root}bench/load/pipeline.lua`, '--', String(load.pipeline), load.path)
    // bash's `times` prints the CPU time of the children it ran (wrk) after them: user, then system.
    const out = await runToEnd(pinned(LOAD_CORE, ['bash', '-c', '"$0" "$@" || exit; times', wrk, ...args]))
    const match = /(\d+) requests in ([\d.]+)(us|ms|s|m)/.exec(out)
    if (!match) throw new Error(`Cannot read wrk's output: ${out}`)
    const unit = { us: 1e-6, ms: 1e-3, s: 1, m: 60 }[match[3] as 'us' | 'ms' | 's' | 'm']
    const non2xx = Number(/Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1] ?? 0)
    const socketErrors = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out)
    const errors = non2xx + (socketErrors ? socketErrors.slice(1, 4).map(Number).reduce((a, b) => a + b, 0) : 0)
    const runSeconds = Number(match[2]) * unit
    const times = [...out.trim().split('\n').at(-1)!.matchAll(/(\d+)m([\d.]+)s/g)].map((m) => Number(m[1]) * 60 + Number(m[2]))
    const loadBusy = times.length === 2 ? (times[0]! + times[1]!) / runSeconds : NaN
    return { requests: Number(match[1]), seconds: runSeconds, errors, loadBusy }
  }
  const out = await runToEnd(pinned(LOAD_CORE, [process.execPath, `${root}bench/load/loadgen.ts`, '--port', String(port), '--path', load.path, '--connections', '60', '--pipeline', String(load.pipeline), '--seconds', String(seconds), ...(load.body === undefined ? [] : ['--body', load.body])]))
  return { loadBusy: NaN, ...(JSON.parse(out.trim().split('\n').at(-1)!) as Omit<Run, 'loadBusy'>) }
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

/**
 * Each round's sample value ÷ the reference's value in the same round (samples are paired by their round,
 * so a round one side missed is left out), in round order.
 */
export function roundRatios<S extends { round: number }>(runs: S[], reference: S[] | undefined, value: (sample: S) => number): number[] {
  const ratios: number[] = []
  for (const sample of runs) {
    const paired = reference?.find((other) => other.round === sample.round)
    if (paired !== undefined) ratios.push(value(sample) / value(paired))
  }
  return ratios
}

/** The median of roundRatios(), or NaN when no round has both. */
export function roundRatio<S extends { round: number }>(runs: S[], reference: S[] | undefined, value: (sample: S) => number): number {
  const ratios = roundRatios(runs, reference, value)
  return ratios.length === 0 ? NaN : median(ratios)
}

/** "0.69×", or "–" when the reference did not run. */
export function ratio(value: number, reference: number): string {
  return Number.isFinite(value / reference) ? `${(value / reference).toFixed(2)}×` : '–'
}

function report(samples: Map<string, Sample[]>, skipped: Map<string, string>, options: CompareOptions): string {
  const { reference, contenders, loads } = options
  const lines = [
    `# ${options.title}`,
    '',
    `Command: \`${options.command}${options.quick ? ' --quick' : ''}\` (${options.rounds} round${options.rounds > 1 ? 's' : ''} of ${options.seconds} s per load, contenders interleaved; medians)`,
    '',
    ...machineLines({
      nginx: nginx ? toolVersion([nginx, '-v'], /nginx\/([\d.]+)/) : undefined,
      Bun: bun ? toolVersion([bun, '--version'], /([\d.]+)/) : undefined,
      wrk: wrk ? toolVersion([wrk, '-v'], /wrk (?:debian\/)?([\d.]+)/) : 'not installed (loadgen.ts used)',
    }),
    ...options.notes.map((note) => `- ${note}`),
    '- Server CPU per request = (utime + stime of the server process during the run) ÷ replies counted',
    "- Load generator busy = its CPU time ÷ the run's length, on its own core: near 100%, the req/s column measures the load generator, not the server (compare CPU per request then)",
    `- Ratios to ${reference} are medians of per-round ratios (each contender against the reference's run of the same round): the machine's speed drifts between rounds, and a ratio within one round does not see that drift`,
    '',
    `| Server | Load | req/s | server CPU µs/request | requests per server CPU-second | CPU/request vs ${reference} | req/s vs ${reference} | load generator busy |`,
    '|---|---|---:|---:|---:|---:|---:|---:|',
  ]
  for (const load of loads) {
    const base = samples.get(`${reference}\t${load.name}`)
    for (const contender of contenders) {
      const runs = samples.get(`${contender.name}\t${load.name}`)
      if (!runs) continue
      const rate = median(runs.map((s) => s.requestsPerSecond))
      const cpu = median(runs.map((s) => s.cpuMicrosPerRequest))
      const perCpuSecond = Math.round(1e6 / cpu).toLocaleString('en-US')
      const busy = median(runs.map((s) => s.loadBusy))
      const busyText = Number.isFinite(busy) ? `${Math.round(busy * 100)}%` : '–'
      const cpuRatio = roundRatio(runs, base, (s) => s.cpuMicrosPerRequest)
      const rateRatio = roundRatio(runs, base, (s) => s.requestsPerSecond)
      lines.push(`| ${contender.name} | ${load.name} | ${Math.round(rate).toLocaleString('en-US')} | ${cpu.toFixed(2)} | ${perCpuSecond} | ${ratio(cpuRatio, 1)} | ${ratio(rateRatio, 1)} | ${busyText} |`)
    }
  }
  for (const [name, why] of skipped) lines.push('', `Skipped ${name}: ${why}`)
  return `${lines.join('\n')}\n`
}
