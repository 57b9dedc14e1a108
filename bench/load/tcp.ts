/*
 * `npm run bench -- tcp`: ping-pong with one 16-byte message outstanding per connection, 1 and 8
 * connections, driven by one client for every server (the C client bench/c/tcp-client.c, pinned to core 1;
 * `wirespeed tcp client` only where no C compiler is found): the wirespeed echo server on each backend, a
 * plain node:net echo on the same Node (the bare node:net responder), the wirespeed server on a Unix socket,
 * and a C epoll echo (the floor), each pinned to core 0. Reported: roundtrips/s and the server's CPU time per
 * roundtrip (from /proc), medians of interleaved rounds, ratios to the C echo.
 */
import type { ChildProcess } from 'node:child_process'
import { spawn } from '../lib/children.ts'
import { freePort, ratio, root, roundRatio } from '../lib/compare.ts'
import { buildC, cc, cpuSeconds, machineLines, median, pinned, stopServer } from '../lib/measure.ts'
import type { SuiteOptions } from './http.ts'

interface Contender {
  name: string
  unix: boolean
  argv(port: number, path: string): string[]
  env?: Record<string, string>
  reference?: boolean
}

const node = process.execPath
const echo = `${root}bench/.work/epoll-echo`
const cClient = `${root}bench/.work/tcp-client`
const wirespeedTcp = (port: number) => [node, `${root}bin/wirespeed.js`, 'tcp', 'server', '--port', String(port)]

const contenders: Contender[] = [
  { name: 'wirespeed tcp server, epoll', unix: false, env: { WIRESPEED_BACKEND: 'epoll' }, argv: wirespeedTcp },
  { name: 'wirespeed tcp server, node', unix: false, env: { WIRESPEED_BACKEND: 'node' }, argv: wirespeedTcp },
  { name: 'node:net echo', unix: false, argv: () => [node, `${root}bench/load/net-echo.ts`] },
  { name: 'C epoll echo', unix: false, reference: true, argv: (port) => [echo, String(port)] },
  { name: 'wirespeed, Unix socket', unix: true, argv: (_port, path) => [node, `${root}bin/wirespeed.js`, 'tcp', 'server', '--path', path, '--port', '0'] },
  { name: 'C epoll echo, Unix socket', unix: true, argv: (_port, path) => [echo, 'unix', path] },
]

function startPinned(argv: string[], env: Record<string, string>): Promise<ChildProcess> {
  const [command, ...args] = pinned('0', argv)
  const child = spawn(command!, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } })
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${argv.join(' ')} did not start`)), 10_000)
    child.stdout!.once('data', () => {
      clearTimeout(timer)
      resolve(child)
    })
    child.once('exit', (code) => reject(new Error(`${argv.join(' ')} exited with ${code}`)))
  })
}

interface ClientResult {
  roundtrips: number
  /** The C client's count with its warm-up: what the server's CPU time paid for. */
  allRoundtrips?: number
  roundtripsPerSecond: number
  p50Us: number
  p99Us: number
}

/** Runs the load: the C client when it built, else `wirespeed tcp client`. */
function runClient(target: { port: number; path?: string }, connections: number, seconds: string, useC: boolean): Promise<ClientResult> {
  const argv = useC
    ? [cClient, target.path ? `unix:${target.path}` : String(target.port), String(connections), seconds]
    : [node, `${root}bin/wirespeed.js`, 'tcp', 'client', ...(target.path ? ['--path', target.path] : ['--port', String(target.port)]), '--connections', String(connections), '--seconds', seconds, '--json']
  return new Promise((resolve, reject) => {
    const [command, ...rest] = pinned('1', argv)
    const child = spawn(command!, rest, { stdio: ['ignore', 'pipe', 'inherit'] })
    let out = ''
    child.stdout.on('data', (bytes: Buffer) => (out += bytes))
    child.on('exit', (code) => (code === 0 ? resolve(JSON.parse(out.trim().split('\n').at(-1)!)) : reject(new Error(`client exited with ${code}`))))
  })
}

interface Sample {
  round: number
  perSecond: number
  cpuMicros: number
  p50Us: number
  p99Us: number
}

export async function runTcpBench(options: SuiteOptions): Promise<string> {
  const { log } = options
  const noEcho = buildC(`${root}bench/c/epoll-echo.c`, echo, log)
  const noClient = buildC(`${root}bench/c/tcp-client.c`, cClient, log)
  const seconds = String(Math.max(1, Math.round(options.seconds)))
  const samples = new Map<string, Sample[]>()
  const skipped: string[] = []
  if (noEcho) skipped.push(`C epoll echo: ${noEcho}`)
  if (noClient) skipped.push(`the C client (so the Node client drove every server): ${noClient}`)
  for (let round = 0; round < options.rounds; round++) {
    const order = contenders.map((_, i) => contenders[(i + round) % contenders.length]!)
    for (const connections of [1, 8]) {
      for (const contender of order) {
        if (noEcho && contender.argv(0, '')[0] === echo) continue
        const port = await freePort()
        const path = `/tmp/wirespeed-bench-${process.pid}-${port}.sock`
        let server: ChildProcess | undefined
        try {
          server = await startPinned(contender.argv(port, path), { PORT: String(port), ...contender.env })
          const before = cpuSeconds(server.pid!)
          const result = await runClient({ port, path: contender.unix ? path : undefined }, connections, seconds, !noClient)
          const after = cpuSeconds(server.pid!)
          const served = result.allRoundtrips ?? result.roundtrips
          const sample = { round, perSecond: result.roundtripsPerSecond, cpuMicros: ((after! - before!) * 1e6) / served, p50Us: result.p50Us, p99Us: result.p99Us }
          const key = `${connections}\t${contender.name}`
          samples.set(key, [...(samples.get(key) ?? []), sample])
          log(`  round ${round + 1} ${connections} conn ${contender.name.padEnd(26)} ${Math.round(sample.perSecond).toLocaleString('en-US').padStart(9)} roundtrips/s ${sample.cpuMicros.toFixed(2)} µs server CPU`)
        } catch (error) {
          const why = `${contender.name}: ${(error as Error).message}`
          if (!skipped.includes(why)) skipped.push(why)
        } finally {
          // stopServer() knows a server that already died (by a signal too) and waits for no exit then.
          if (server) await stopServer(server)
        }
      }
    }
  }
  const lines = [
    '# TCP: ping-pong echo, one 16-byte message outstanding per connection',
    '',
    `Command: \`npm run bench -- tcp${options.quick ? ' --quick' : ''}\` (${options.rounds} round${options.rounds > 1 ? 's' : ''} of ${seconds} s, contenders interleaved; medians)`,
    '',
    ...machineLines({ cc: cc ? 'present' : undefined }),
    noClient
      ? '- One client drives every server: `wirespeed tcp client` (Node), pinned to the other core. It saturates its core first, so compare the server CPU per roundtrip as well as the rate'
      : '- One client drives every server: `bench/c/tcp-client.c` (one thread, epoll, 0.3 s warm-up not counted), pinned to the other core',
    '- wirespeed tcp server on each backend (`WIRESPEED_BACKEND=epoll|node`); node:net echo is the bare node:net responder; the Unix-socket server runs on the default backend',
    '- Ratios to the C epoll echo are medians of per-round ratios (each server against the C echo of the same round): the machine\'s speed drifts between rounds',
    '',
    '| Connections | Server | roundtrips/s | server CPU µs/roundtrip | p50 µs | p99 µs | roundtrips/s vs C epoll | CPU vs C epoll |',
    '|---:|---|---:|---:|---:|---:|---:|---:|',
  ]
  for (const connections of [1, 8]) {
    const referenceRuns = samples.get(`${connections}\tC epoll echo`)
    for (const contender of contenders) {
      const runs = samples.get(`${connections}\t${contender.name}`)
      if (!runs) continue
      const rate = median(runs.map((s) => s.perSecond))
      const cpu = median(runs.map((s) => s.cpuMicros))
      lines.push(`| ${connections} | ${contender.name} | ${Math.round(rate).toLocaleString('en-US')} | ${cpu.toFixed(2)} | ${median(runs.map((s) => s.p50Us)).toFixed(1)} | ${median(runs.map((s) => s.p99Us)).toFixed(1)} | ${ratio(roundRatio(runs, referenceRuns, (s) => s.perSecond), 1)} | ${ratio(roundRatio(runs, referenceRuns, (s) => s.cpuMicros), 1)} |`)
    }
  }
  for (const why of skipped) lines.push('', `Skipped ${why}`)
  return `${lines.join('\n')}\n`
}
