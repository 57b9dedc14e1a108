/*
 * `npm run bench -- websocket`: WebSocket servers under a C load generator (bench/c/ws-load.c, one thread
 * on epoll, pinned to core 1; it does not saturate before the servers do), each server pinned to core 0:
 * wirespeed on each backend, `ws` on Node, and Bun.serve (uWebSockets inside), all doing the same work
 * (bench/load/websocket/), and a C floor for the echo (bench/c/ws-floor.c: read, unmask, frame, write; a
 * canned handshake). The floor writes each published frame at once, one write per subscriber, where the
 * others batch a tick's frames per socket, so it is no floor for the fan-out and is not run there.
 *
 * Scenarios: echo ping-pong with one 32-byte text message outstanding per client, 1, 60 and 1,000 clients
 * (messages/s and server CPU per message); fan-out, one publisher whose every message the server publishes
 * to 1,000 subscribers, at most 8 messages outstanding (deliveries/s and server CPU per delivery). The server's
 * CPU time is read from /proc by the load generator over its measured window (handshakes excluded).
 * Medians of interleaved rounds; ratios to ws and to Bun.
 *
 * Memory: 10,000 idle WebSockets opened at once; per socket, the growth of the server's RSS and of its JS
 * heap + external memory after a forced GC, against wirespeed's own transport holding 10,000 idle TCP
 * connections ("the socket itself").
 */
import type { ChildProcess } from 'node:child_process'
import { spawn } from '../lib/children.ts'
import { bun, freePort, ratio, root } from '../lib/compare.ts'
import { buildC, cc, machineLines, median, pinned, stopServer, toolVersion, waitForPort } from '../lib/measure.ts'
import type { SuiteOptions } from './http.ts'

const node = process.execPath
const load = `${root}bench/.work/ws-load`
const floor = `${root}bench/.work/ws-floor`
const dir = `${root}bench/load/websocket`

interface Contender {
  name: string
  argv: string[]
  env?: Record<string, string>
  /** Echo only (the C floor). */
  echoOnly?: boolean
}

const contenders: Contender[] = [
  { name: 'wirespeed (epoll)', argv: [node, '--expose-gc', `${dir}/wirespeed.ts`], env: { WIRESPEED_BACKEND: 'epoll' } },
  { name: 'wirespeed (node:net)', argv: [node, '--expose-gc', `${dir}/wirespeed.ts`], env: { WIRESPEED_BACKEND: 'node' } },
  { name: 'ws (Node)', argv: [node, '--expose-gc', `${dir}/ws-node.ts`] },
  ...(bun ? [{ name: 'Bun.serve', argv: [bun, `${dir}/bun.js`] }] : []),
  { name: 'C floor', argv: [floor], echoOnly: true },
]
const baseline: Contender = { name: 'wirespeed transport, idle TCP', argv: [node, '--expose-gc', `${dir}/tcp-idle.ts`], env: { WIRESPEED_BACKEND: 'epoll' } }

interface Scenario {
  name: string
  mode: 'echo' | 'fanout'
  clients: number
}

const SCENARIOS: Scenario[] = [
  { name: 'echo, 1 client', mode: 'echo', clients: 1 },
  { name: 'echo, 60 clients', mode: 'echo', clients: 60 },
  { name: 'echo, 1,000 clients', mode: 'echo', clients: 1000 },
  { name: 'fan-out to 1,000', mode: 'fanout', clients: 1000 },
]
const IDLE_SOCKETS = 10_000
const IDLE_SOCKETS_QUICK = 1000

interface Result {
  messages: number
  deliveries: number
  seconds: number
  serverCpuSeconds: number
}

interface Memory {
  rss: number
  heap: number
  external: number
}

/** A server pinned to core 0, whose stdout lines (memory reports) reach `lines`. */
async function start(contender: Contender, port: number): Promise<{ child: ChildProcess; lines: string[] }> {
  const [command, ...args] = pinned('0', contender.argv[0] === floor ? [floor, String(port)] : contender.argv)
  const child = spawn(command!, args, { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, ...contender.env, PORT: String(port) } })
  const lines: string[] = []
  let partial = ''
  child.stdout!.on('data', (bytes: Buffer) => {
    partial += bytes.toString()
    const parts = partial.split('\n')
    partial = parts.pop()!
    lines.push(...parts)
  })
  await waitForPort(port)
  return { child, lines }
}

function runLoad(args: string[], onReady?: () => void): Promise<Result> {
  return new Promise((resolve, reject) => {
    const [command, ...rest] = pinned('1', [load, ...args])
    const child = spawn(command!, rest, { stdio: ['ignore', 'pipe', 'inherit'] })
    let out = ''
    child.stdout!.on('data', (bytes: Buffer) => {
      out += bytes.toString()
      if (onReady !== undefined && out.includes('ready\n')) {
        const ready = onReady
        onReady = undefined
        ready()
      }
    })
    child.on('exit', (code) => {
      if (code !== 0) return reject(new Error(`ws-load ${args.join(' ')} exited with ${code}`))
      const last = out.trim().split('\n').at(-1)!
      resolve(last === 'ready' ? { messages: 0, deliveries: 0, seconds: 0, serverCpuSeconds: 0 } : (JSON.parse(last) as Result))
    })
  })
}

async function memoryOf(server: { child: ChildProcess; lines: string[] }): Promise<Memory> {
  const before = server.lines.length
  server.child.kill('SIGUSR2')
  const deadline = Date.now() + 10_000
  while (server.lines.length === before) {
    if (Date.now() > deadline) throw new Error('no memory report')
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
  return JSON.parse(server.lines.at(-1)!) as Memory
}

/** Per idle connection: growth of RSS and of heap + external, with `count` sockets open. */
async function idleMemory(contender: Contender, count: number, websocket: boolean): Promise<{ rss: number; js: number }> {
  const port = await freePort()
  const server = await start(contender, port)
  try {
    const empty = await memoryOf(server)
    let loaded: Memory | undefined
    let failure: unknown
    const done = runLoad([String(port), String(server.child.pid), websocket ? 'idle' : 'tcp-idle', String(count), '3', '1'], () => {
      // All open: let the server finish accepting, then measure while they are held.
      setTimeout(() => memoryOf(server).then((memory) => (loaded = memory), (error: unknown) => (failure = error)), 1000)
    })
    await done
    if (loaded === undefined) throw failure ?? new Error('the memory was not measured while the sockets were open')
    return { rss: (loaded.rss - empty.rss) / count, js: (loaded.heap + loaded.external - empty.heap - empty.external) / count }
  } finally {
    await stopServer(server.child)
  }
}

export async function runWebSocketBench(options: SuiteOptions): Promise<string> {
  const { log } = options
  const missing = buildC(`${root}bench/c/ws-load.c`, load, log)
  if (missing) return `# WebSocket\n\nNot run: the C load generator is needed (${missing}).\n`
  const noFloor = buildC(`${root}bench/c/ws-floor.c`, floor, log)
  const seconds = String(Math.max(1, Math.round(options.seconds)))
  const samples = new Map<string, { perSecond: number; cpuMicros: number }[]>()
  const skipped: string[] = noFloor ? [`C floor: ${noFloor}`] : []
  const running = contenders.filter((contender) => !(noFloor && contender.argv[0] === floor))
  for (let round = 0; round < options.rounds; round++) {
    const order = running.map((_, index) => running[(index + round) % running.length]!)
    for (const contender of order) {
      for (const scenario of SCENARIOS) {
        if (contender.echoOnly && scenario.mode !== 'echo') continue
        const port = await freePort()
        let server: { child: ChildProcess } | undefined
        try {
          server = await start(contender, port)
          const pid = String(server.child.pid)
          if (round === 0 && scenario === SCENARIOS[0]) {
            // Check the answer before timing: echoes come back, and a publish reaches subscribers.
            const echo = await runLoad([String(port), pid, 'echo', '1', '0.3', '32'])
            const fan = contender.echoOnly ? { deliveries: 1 } : await runLoad([String(port), pid, 'fanout', '10', '0.3', '32'])
            if (echo.messages === 0 || fan.deliveries === 0) throw new Error('did not echo or publish')
            log(`✔ ${contender.name} ${contender.echoOnly ? 'echoes' : 'echoes and publishes'}`)
          }
          const result = await runLoad([String(port), pid, scenario.mode, String(scenario.clients), seconds, '32'])
          const count = scenario.mode === 'echo' ? result.messages : result.deliveries
          const sample = { perSecond: count / result.seconds, cpuMicros: (result.serverCpuSeconds * 1e6) / count }
          const key = `${scenario.name}\t${contender.name}`
          samples.set(key, [...(samples.get(key) ?? []), sample])
          log(`  round ${round + 1} ${scenario.name.padEnd(20)} ${contender.name.padEnd(22)} ${Math.round(sample.perSecond).toLocaleString('en-US').padStart(10)}/s ${sample.cpuMicros.toFixed(2)} µs server CPU`)
        } catch (error) {
          const why = `${contender.name}: ${(error as Error).message}`
          if (!skipped.includes(why)) skipped.push(why)
        } finally {
          if (server) await stopServer(server.child)
        }
      }
    }
  }
  const idleCount = options.quick ? IDLE_SOCKETS_QUICK : IDLE_SOCKETS
  const memory = new Map<string, { rss: number; js: number }>()
  for (const contender of [baseline, ...running.filter((each) => !each.echoOnly)]) {
    try {
      memory.set(contender.name, await idleMemory(contender, idleCount, contender !== baseline))
      const each = memory.get(contender.name)!
      log(`  memory ${contender.name.padEnd(30)} ${(each.rss / 1024).toFixed(2)} KiB RSS, ${(each.js / 1024).toFixed(2)} KiB heap+external per connection`)
    } catch (error) {
      skipped.push(`memory of ${contender.name}: ${(error as Error).message}`)
    }
  }
  const bunVersion = bun ? toolVersion([bun, '--version'], /(\d+\.\d+\.\d+)/) : undefined
  const lines = [
    '# WebSocket: echo ping-pong and fan-out',
    '',
    `Command: \`npm run bench -- websocket${options.quick ? ' --quick' : ''}\` (${options.rounds} round${options.rounds > 1 ? 's' : ''} of ${seconds} s per scenario, contenders interleaved; medians)`,
    '',
    ...machineLines({ Bun: bunVersion, cc: cc ? 'present' : undefined }),
    '- Load: bench/c/ws-load.c (C, epoll, one thread), 32-byte text messages, no compression; the server\'s CPU time is read from /proc over the measured window',
    '- Echo: one message outstanding per client. Fan-out: one publisher, the server publishes each message to 1,000 subscribers, at most 8 messages outstanding',
    '- With 1 client, each message waits for a wake-up on both sides: its CPU per message is mostly the VM\'s wake-up cost (even the C floor\'s), not the server\'s work; read the 60 and 1,000 client rows',
    '',
    '| Scenario | Server | messages (deliveries)/s | server CPU µs/message | CPU vs ws | CPU vs Bun | CPU vs C floor |',
    '|---|---|---:|---:|---:|---:|---:|',
  ]
  for (const scenario of SCENARIOS) {
    const cpuOf = (name: string) => {
      const runs = samples.get(`${scenario.name}\t${name}`)
      return runs ? median(runs.map((s) => s.cpuMicros)) : NaN
    }
    for (const contender of contenders) {
      const runs = samples.get(`${scenario.name}\t${contender.name}`)
      if (!runs) continue
      const cpu = median(runs.map((s) => s.cpuMicros))
      lines.push(`| ${scenario.name} | ${contender.name} | ${Math.round(median(runs.map((s) => s.perSecond))).toLocaleString('en-US')} | ${cpu.toFixed(2)} | ${ratio(cpu, cpuOf('ws (Node)'))} | ${ratio(cpu, cpuOf('Bun.serve'))} | ${ratio(cpu, cpuOf('C floor'))} |`)
    }
  }
  lines.push(
    '',
    `Memory per idle connection, ${idleCount.toLocaleString('en-US')} open at once (growth over the empty server, after a forced GC):`,
    '',
    '| Server | RSS KiB/connection | JS heap + external KiB/connection |',
    '|---|---:|---:|',
  )
  for (const [name, each] of memory) lines.push(`| ${name} | ${(each.rss / 1024).toFixed(2)} | ${(each.js / 1024).toFixed(2)} |`)
  const socket = memory.get(baseline.name)
  const ours = memory.get('wirespeed (epoll)')
  if (socket && ours) {
    lines.push('', `A wirespeed WebSocket costs ${((ours.rss - socket.rss) / 1024).toFixed(2)} KiB of RSS and ${((ours.js - socket.js) / 1024).toFixed(2)} KiB of JS memory above the socket itself (the transport's idle TCP connection).`)
  }
  for (const why of skipped) lines.push('', `Skipped ${why}`)
  return `${lines.join('\n')}\n`
}
