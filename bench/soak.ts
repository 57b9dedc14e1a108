/*
 * `npm run bench -- soak [--quick]`: the server under long and hostile use, in a child process whose
 * resident memory (VmRSS) is read from /proc before and after each phase.
 *   1. keep-alive requests (1,000,000; quick: 20,000), 10 connections pipelining 16
 *   2. connection open/close cycles (10,000; quick: 1,000), one request each, after a warm-up
 *   3. idle connections (1,000; quick: 200), which the idle timeout must close
 *   4. a client sending one header byte per second (quick: every 250 ms): 408 and closed within the
 *      headers timeout
 *   5. a client that pipelines 8 MB of requests without reading: reading must pause (bounded memory)
 *
 * Bound on RSS growth: 24 MiB per phase. Why: after each reply the server keeps nothing per request, so a
 * leak of even 100 bytes a request would show as ~100 MB over the million; what legitimately moves is V8's
 * heap sizing (the young generation's two semi-spaces grow up to 16 MiB each on 64-bit Node) and the
 * allocator's free lists, a few MiB. 24 MiB admits that and nothing that scales with the request count.
 */
import type { ChildProcess } from 'node:child_process'
import { spawn } from './lib/children.ts'
import { readFileSync } from 'node:fs'
import { connect, type Socket } from 'node:net'
import { setTimeout as sleep } from 'node:timers/promises'
import { root } from './lib/compare.ts'
import { machineLines, pinned } from './lib/measure.ts'
import type { SuiteOptions } from './load/http.ts'

const RSS_GROWTH_BYTES_MAX = 24 * 1024 * 1024

function rssBytes(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8')
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)![1]) * 1024
}

function open(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port }, () => resolve(socket))
    socket.on('error', reject)
  })
}

/** Sends `total` requests over `connections` keep-alive connections, 16 in flight each; resolves when all are answered. */
async function keepAlive(port: number, total: number, connections: number): Promise<void> {
  const batch = 'GET / HTTP/1.1\r\nHost: a\r\n\r\n'.repeat(16)
  let sent = 0
  let answered = 0
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`Only ${answered} of ${total} answered in 300 s`)), 300_000)
    for (let c = 0; c < connections; c++) {
      void open(port).then((socket) => {
        let owed = 0
        const more = () => {
          if (sent >= total) return socket.end()
          sent += 16
          owed += 16
          socket.write(batch)
        }
        socket.on('data', (bytes: Buffer) => {
          // Each reply ends with the body "Hello, World!": count those.
          let at = -1
          while ((at = bytes.indexOf('World!', at + 1)) !== -1) {
            owed--
            answered++
          }
          if (answered >= total) {
            clearTimeout(timer)
            resolve()
          }
          if (owed === 0) more()
        })
        more()
      }, reject)
    }
  })
}

/** The port the soak server prints once it listens (`listening PORT`); an error if it exits or is silent for 10 s. */
function listeningPort(server: ChildProcess): Promise<number> {
  return new Promise((resolve, reject) => {
    let seen = ''
    const timer = setTimeout(() => fail(new Error('The soak server did not say its port within 10 s')), 10_000)
    const exited = (code: number | null) => fail(new Error(`The soak server exited (code ${code}) before it listened`))
    const fail = (error: Error) => {
      clearTimeout(timer)
      server.off('exit', exited)
      reject(error)
    }
    server.once('exit', exited)
    server.stdout!.on('data', (bytes: Buffer) => {
      seen += bytes
      const match = /listening (\d+)\n/.exec(seen)
      if (match === null) return
      clearTimeout(timer)
      server.off('exit', exited)
      resolve(Number(match[1]))
    })
  })
}

export async function runSoak(options: SuiteOptions): Promise<string> {
  const { log, quick } = options
  const headersTimeoutMs = quick ? 1000 : 3000
  const idleTimeoutMs = 1000
  const [command, ...args] = pinned('0', [process.execPath, `${root}bench/load/soak-server.ts`])
  const server: ChildProcess = spawn(command!, args, {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, HEADERS_TIMEOUT_MS: String(headersTimeoutMs), IDLE_TIMEOUT_MS: String(idleTimeoutMs) },
  })
  const rows: string[] = []
  let failures = 0
  const check = (name: string, measured: string, bound: string, ok: boolean) => {
    if (!ok) failures++
    rows.push(`| ${name} | ${measured} | ${bound} | ${ok ? '✔' : '✘'} |`)
    log(`${ok ? '✔' : '✘'} ${name}: ${measured} (bound ${bound})`)
  }
  const mib = (bytes: number) => `${(bytes / 1048576).toFixed(1)} MiB`
  try {
    const port = await listeningPort(server)
    const pid = server.pid!
    await keepAlive(port, 10_000, 10) // warm-up: JIT and heap settle before the first reading
    await sleep(200)

    const requests = quick ? 20_000 : 1_000_000
    let before = rssBytes(pid)
    await keepAlive(port, requests, 10)
    await sleep(200)
    let growth = rssBytes(pid) - before
    check(`${requests.toLocaleString('en-US')} keep-alive requests: RSS growth`, mib(growth), mib(RSS_GROWTH_BYTES_MAX), growth <= RSS_GROWTH_BYTES_MAX)

    const cycles = quick ? 1000 : 10_000
    const cycle = async () => {
      const socket = await open(port)
      await new Promise<void>((resolve) => {
        socket.on('data', () => socket.end())
        socket.on('close', () => resolve())
        socket.write('GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n')
      })
    }
    // Warm-up: the first connections grow V8's heap and the allocator's pools to their working size
    // (measured: the server's RSS rises by ~50 MiB over the first 20,000 cycles, then stays flat to the
    // megabyte over the next 20,000, while the live heap after a collection does not grow at all); the
    // bound is on what comes after.
    for (let i = 0; i < (quick ? 1000 : 20_000); i++) await cycle()
    await sleep(200)
    before = rssBytes(pid)
    for (let i = 0; i < cycles; i++) await cycle()
    await sleep(200)
    growth = rssBytes(pid) - before
    check(`${cycles.toLocaleString('en-US')} open/close cycles: RSS growth`, mib(growth), mib(RSS_GROWTH_BYTES_MAX), growth <= RSS_GROWTH_BYTES_MAX)

    const idle = quick ? 200 : 1000
    const sockets = await Promise.all(Array.from({ length: idle }, () => open(port)))
    let closed = 0
    for (const socket of sockets) {
      socket.on('close', () => closed++)
      socket.on('end', () => socket.end())
    }
    const idleDeadline = idleTimeoutMs * 1.25 + 1000
    const idleStarted = performance.now()
    while (closed < idle && performance.now() - idleStarted < idleDeadline) await sleep(20)
    check(`${idle.toLocaleString('en-US')} idle connections closed by the idle timeout (${idleTimeoutMs} ms)`, `${closed} closed in ${Math.round(performance.now() - idleStarted)} ms`, `all within ${idleDeadline} ms`, closed === idle)
    for (const socket of sockets) socket.destroy()

    const gapMs = quick ? 250 : 1000
    const slow = await open(port)
    let reply = ''
    let slowClosed = false
    slow.on('data', (bytes: Buffer) => (reply += bytes.toString('latin1')))
    slow.on('close', () => (slowClosed = true))
    slow.on('error', () => {})
    const request = `GET / HTTP/1.1\r\nHost: a\r\n${'X-Slow: y\r\n'.repeat(100)}\r\n`
    const slowStarted = performance.now()
    for (let i = 0; i < request.length && !slowClosed; i++) {
      slow.write(request[i]!)
      const until = performance.now() + gapMs
      while (!slowClosed && performance.now() < until) await sleep(10)
    }
    const slowMs = performance.now() - slowStarted
    const bound = headersTimeoutMs * 1.25 + gapMs + 500
    check(`one header byte every ${gapMs} ms (headers timeout ${headersTimeoutMs} ms)`, `${reply.slice(0, 12)}, closed after ${Math.round(slowMs)} ms`, `408 and closed within ${bound} ms`, reply.startsWith('HTTP/1.1 408') && slowClosed && slowMs <= bound)
    slow.destroy()

    before = rssBytes(pid)
    const greedy = await open(port)
    greedy.pause()
    greedy.on('error', () => {})
    const flood = Buffer.from('GET / HTTP/1.1\r\nHost: a\r\n\r\n'.repeat(1000))
    let queued = 0
    while (queued < 8 * 1024 * 1024) {
      greedy.write(flood)
      queued += flood.length
    }
    await sleep(1000)
    growth = rssBytes(pid) - before
    const unsent = greedy.writableLength
    check('8 MB of pipelined requests, never read: server RSS growth', `${mib(growth)} (${mib(unsent)} still unsent by the client: the server stopped reading)`, mib(RSS_GROWTH_BYTES_MAX), growth <= RSS_GROWTH_BYTES_MAX && unsent > 0)
    greedy.destroy()
  } finally {
    const exited = new Promise((resolve) => server.once('exit', resolve))
    server.kill('SIGTERM')
    await exited
  }
  const table = [
    '# Soak: long and hostile use',
    '',
    `Command: \`npm run bench -- soak${quick ? ' --quick' : ''}\``,
    '',
    ...machineLines({}),
    `- Server: bench/load/soak-server.ts (hello), headersTimeoutMs ${headersTimeoutMs}, idleTimeoutMs ${idleTimeoutMs}; RSS read from /proc/<pid>/status`,
    `- Bound on RSS growth per phase: ${mib(RSS_GROWTH_BYTES_MAX)} (see the header of bench/soak.ts for why)`,
    '',
    '| Check | Measured | Bound | |',
    '|---|---|---|---|',
    ...rows,
  ].join('\n')
  if (failures > 0) throw new Error(`${failures} soak check(s) failed:\n${table}`)
  return `${table}\n`
}
