/*
 * Multi-core serving: one event loop per worker thread, each listening on the same port with reusePort, so
 * the kernel spreads connections over them. Never more threads than `os.availableParallelism()` (the old
 * project's rule: no more threads than cores).
 *
 * The main thread serves nothing itself. It picks the port (the first worker binds it; the others join),
 * runs the one file watcher for every worker's static cache (changes are posted to the workers: not on the
 * request path), sums the workers' counters from a SharedArrayBuffer for the status line, replaces a worker
 * that dies (logged, with a backoff that doubles from 100 ms to 5 s and resets once a worker has run 10 s),
 * and on `close()` tells every worker to close gracefully, terminating any still running after the
 * shutdown timeout.
 *
 * reusePort exists on Linux and the BSDs. Elsewhere this falls back to a single event loop on the main
 * thread (said in the log line at start): one process per core with node:cluster is not built yet.
 */
import { WorkerExitedError } from '../errors.ts'
import { availableParallelism } from 'node:os'
import { resolve } from 'node:path'
import { Worker } from 'node:worker_threads'
import type { Handler } from '../http/connection-state.ts'
import { httpUrl, type Server, type ServeOptions } from '../http/server.ts'
import { resolveLimits } from '../limits.ts'
import { requireNode } from '../runtime.ts'
import { REUSE_PORT_NODE } from '../tcp/listen.ts'
import { watch } from '../watch/watch.ts'
import { COUNTERS_PER_WORKER, type WorkerSetup } from './worker-setup.ts'

const entry = new URL(import.meta.url.endsWith('.ts') ? './serve-worker.ts' : './serve-worker.js', import.meta.url)
const BACKOFF_MS_MIN = 100
const BACKOFF_MS_MAX = 5000
const STABLE_MS = 10_000

/** True where several sockets may listen on one port (Linux, FreeBSD, OpenBSD, NetBSD). */
export function reusePortAvailable(): boolean {
  return ['linux', 'freebsd', 'openbsd', 'netbsd'].includes(process.platform)
}

/** How many worker threads `workers` asks for on this machine (at least 1, at most the cores). */
export function workerCount(workers: number | 'auto'): number {
  const cores = availableParallelism()
  if (workers === 'auto') return cores
  if (!Number.isInteger(workers) || workers < 1) throw new RangeError(`Invalid option workers: expected 'auto' or an integer from 1 to ${cores}, got ${workers}`)
  return Math.min(workers, cores)
}

export async function serveWorkers(options: ServeOptions, fallback: (options: ServeOptions) => Promise<Server>): Promise<Server> {
  const log = options.log ?? ((line: string) => console.log(line))
  const count = workerCount(options.workers!)
  if (options.handler !== undefined && options.handlerModule === undefined) {
    throw new TypeError('Invalid option handler with workers: a function cannot cross threads; give handlerModule, a module whose default export is the handler')
  }
  const handlerModule = options.handlerModule === undefined ? undefined : new URL(options.handlerModule, `file://${process.cwd()}/`).href
  if (count === 1 || !reusePortAvailable()) {
    log(count === 1 ? 'wirespeed: serving on one event loop' : `wirespeed: reusePort is unavailable on ${process.platform}: serving on one event loop`)
    const handler = handlerModule === undefined ? undefined : ((await import(handlerModule)) as { default: Handler }).default
    return fallback({ ...options, workers: undefined, handlerModule: undefined, handler })
  }
  requireNode('Serving on several worker threads (reusePort)', REUSE_PORT_NODE)
  if (options.static !== undefined && typeof options.static !== 'string' && !('root' in options.static && typeof options.static.root === 'string')) {
    throw new TypeError('Invalid option static with workers: give the folder (or { root }), not a StaticFiles instance')
  }
  const staticRoot = options.static === undefined ? undefined : resolve(typeof options.static === 'string' ? options.static : (options.static as { root: string }).root)
  const limits = resolveLimits(options.limits)
  const counters = new SharedArrayBuffer(count * COUNTERS_PER_WORKER * 8)
  const slots = new BigInt64Array(counters)
  const host = options.host ?? '127.0.0.1'
  let port = options.port ?? 5001
  const workers: (Worker | undefined)[] = new Array(count)
  let closing = false
  let restarts = 0
  let backoffMs = BACKOFF_MS_MIN

  const start = (index: number): Promise<void> => {
    const setup: WorkerSetup = { index, host, port, limits: options.limits, handlerModule, staticRoot, counters }
    const worker = new Worker(entry, { workerData: setup })
    const startedAt = Date.now()
    workers[index] = worker
    return new Promise((resolve, reject) => {
      let listening = false
      worker.on('message', (message: { type: string; port: number }) => {
        if (message.type !== 'listening') return
        listening = true
        port = message.port
        resolve()
      })
      worker.on('error', (error) => {
        if (!listening) reject(error)
        else log(`wirespeed: worker ${index} failed: ${(error as Error).stack ?? error}`)
      })
      worker.on('exit', (code) => {
        if (workers[index] === worker) workers[index] = undefined
        if (!listening) return reject(new WorkerExitedError(`Worker ${index} exited with code ${code} before listening`))
        if (closing) return
        if (Date.now() - startedAt > STABLE_MS) backoffMs = BACKOFF_MS_MIN
        restarts++
        log(`wirespeed: worker ${index} exited with code ${code}; starting a new one in ${backoffMs} ms`)
        const delay = backoffMs
        backoffMs = Math.min(BACKOFF_MS_MAX, backoffMs * 2)
        setTimeout(() => {
          if (!closing) start(index).catch((error: Error) => log(`wirespeed: worker ${index} could not start: ${error.message}`))
        }, delay).unref()
      })
    })
  }

  try {
    await start(0)
    await Promise.all(Array.from({ length: count - 1 }, (_, i) => start(i + 1)))
  } catch (error) {
    closing = true
    await Promise.all(workers.map((worker) => worker?.terminate()))
    throw error
  }
  const stopWatching = staticRoot === undefined ? undefined : watch(staticRoot, {}, (changes) => {
    for (const worker of workers) worker?.postMessage({ type: 'invalidate', changes })
  })
  log(`wirespeed: serving with ${count} worker threads (reusePort)`)

  const sum = (offset: number) => {
    let total = 0
    for (let index = 0; index < count; index++) total += Number(Atomics.load(slots, index * COUNTERS_PER_WORKER + offset))
    return total
  }
  let closed: Promise<void> | undefined
  return {
    host,
    port,
    url: httpUrl(host, port),
    limits,
    get connections() {
      return sum(2)
    },
    get workers() {
      return count
    },
    get restarts() {
      return restarts
    },
    stats() {
      return { requests: sum(0), bytesOut: sum(1), connections: sum(2) }
    },
    close() {
      closed ??= (async () => {
        closing = true
        stopWatching?.()
        await Promise.all(
          workers.map(async (worker) => {
            if (worker === undefined) return
            const exited = new Promise((resolve) => worker.once('exit', resolve))
            worker.postMessage({ type: 'close' })
            const force = setTimeout(() => void worker.terminate(), limits.shutdownTimeoutMs + 1000)
            await exited
            clearTimeout(force)
          }),
        )
      })()
      return closed
    },
  }
}
