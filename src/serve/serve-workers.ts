/*
 * Multi-core serving: one event loop per worker thread, each listening on the same port with reusePort, so
 * the kernel spreads connections over them. Never more threads than `os.availableParallelism()` (the old
 * project's rule: no more threads than cores).
 *
 * The main thread serves nothing itself. It picks the port (the first worker binds it; the others join),
 * runs the one file watcher for every worker's static cache (changes are posted to the workers: not on the
 * request path), sums the workers' counters from a SharedArrayBuffer for the status line, keeps each
 * worker's WebSocket subscriber counts per topic as the workers report them (./subscriber-counts.ts), rejects
 * `serve()` with a worker's own error when one cannot start (./error-crossing.ts), replaces a worker
 * that dies (logged, with a backoff that doubles from 100 ms to 5 s and resets once a worker has run 10 s),
 * and on `close()` tells every worker to close gracefully, terminating any still running after the
 * shutdown timeout.
 *
 * reusePort exists on Linux and the BSDs; elsewhere the `serve()` facade serves on one event loop instead
 * (said in the log line at start): one process per core with node:cluster is not built yet.
 */
import { bytesOf } from '../websocket/frames.ts'
import { availableParallelism } from 'node:os'
import { resolve } from 'node:path'
import { Worker } from 'node:worker_threads'
import { WorkerExitedError } from '../errors.ts'
import { httpUrl } from '../http/types.ts'
import { resolveLimits } from '../limits.ts'
import { requireNode } from '../runtime.ts'
import { parkedWaits, threadPoolSize } from '../tcp/park-budget.ts'
import { REUSE_PORT_NODE } from '../tcp/listen.ts'
import { listenSpecOf } from './listen-spec.ts'
import type { Server, WorkersServeOptions } from './types.ts'
import type { Backend } from '../tcp/types.ts'
import { watch } from '../watch/watch.ts'
import { errorFromCrossing } from '../thread/error-crossing.ts'
import { SubscriberCounts } from './subscriber-counts.ts'
import { COUNTERS_PER_WORKER, type WorkerReport, type WorkerSetup } from './worker-setup.ts'

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

/** One worker thread's place: its Worker while it runs, and the restart bookkeeping for its slot. */
interface Pool {
  readonly workers: (Worker | undefined)[]
  closing: boolean
  restarts: number
  backoffMs: number
  port: number
  /** What the workers serve on, as the first one reported it (set before serveWorkers() returns). */
  backend: Backend | undefined
  backendReason: string
  /** True when a worker's idle loop waits on libuv's thread pool (src/tcp/park-budget.ts). */
  parksOnThreadPool: boolean
  /** Each worker's WebSocket subscribers per topic, as reported. */
  readonly subscribers: SubscriberCounts
}

/**
 * Serves on `count` worker threads sharing one port. `handlerModule` is an href (the facade resolved it).
 * @example
 * const server = await serveWorkers({ workers: 2, static: './public' }, 2, console.log, undefined)
 */
export async function serveWorkers(options: WorkersServeOptions, count: number, log: (line: string) => void, handlerModule: string | undefined): Promise<Server> {
  requireNode('Serving on several worker threads (reusePort)', REUSE_PORT_NODE)
  // The facade checked the options (none of them a function, static given as data); every one reaches the workers.
  const given = typeof options.static === 'string' ? { root: options.static } : options.static
  const staticOptions = given === undefined ? undefined : { ...given, root: resolve(given.root), watch: false }
  const limits = resolveLimits(options.limits)
  const counters = new SharedArrayBuffer(count * COUNTERS_PER_WORKER * 8)
  const spec = listenSpecOf(options)
  const host = spec.host ?? '127.0.0.1'
  const pool: Pool = {
    workers: new Array(count), closing: false, restarts: 0, backoffMs: BACKOFF_MS_MIN, port: spec.port, backend: undefined, backendReason: '', parksOnThreadPool: false,
    subscribers: new SubscriberCounts(count, limits.topicsTrackedMax, log),
  }
  const setupOf = (index: number): WorkerSetup => ({
    index, listen: { ...spec, port: pool.port }, limits: options.limits, handlerModule, lightResponse: options.lightResponse, static: staticOptions, counters,
  })
  const start = (index: number): Promise<void> => startWorker(pool, index, setupOf, log)
  try {
    // The first worker binds the port (0 picks one); the others join it.
    await start(0)
    await Promise.all(Array.from({ length: count - 1 }, (_, i) => start(i + 1)))
  } catch (error) {
    pool.closing = true
    await Promise.all(pool.workers.map((worker) => worker?.terminate()))
    throw error
  }
  const stopWatching = staticOptions === undefined || given?.watch === false ? undefined : watch(staticOptions.root, { debounceMs: given?.debounceMs }, (changes) => {
    for (const worker of pool.workers) worker?.postMessage({ type: 'invalidate', changes })
  })
  log(`wirespeed: serving with ${count} worker threads (reusePort)`)
  // Where an idle loop waits on libuv's thread pool, one thread is left to fs, DNS and zlib (src/tcp/park-budget.ts).
  const poolThreads = threadPoolSize()
  if (pool.parksOnThreadPool && count > poolThreads - 1) {
    log(`wirespeed: ${count} event loops share libuv's ${poolThreads} thread-pool threads, so ${count - (poolThreads - 1)} poll on a timer while idle; start Node with UV_THREADPOOL_SIZE=${count + 4} to let every loop wait`)
  }
  const slots = new BigInt64Array(counters)
  const sum = (offset: number) => {
    let total = 0
    for (let index = 0; index < count; index++) total += Number(Atomics.load(slots, index * COUNTERS_PER_WORKER + offset))
    return total
  }
  let closed: Promise<void> | undefined
  return {
    host,
    hostname: host,
    port: pool.port,
    url: httpUrl(host, pool.port),
    // Requests are served on the workers; this thread never holds one.
    requestIP: () => null,
    upgrade: () => false,
    // Each worker holds its own sockets and topics: a publish from here is a publish in every worker, and it
    // counts the subscribers the workers last reported (./subscriber-counts.ts).
    publish(topic, data, compress) {
      const payload = bytesOf(data)
      for (const worker of pool.workers) worker?.postMessage({ type: 'publish', topic, data: payload, compress })
      return pool.subscribers.count(topic)
    },
    subscriberCount: (topic) => pool.subscribers.count(topic),
    limits,
    backend: pool.backend!,
    backendReason: pool.backendReason,
    get connections() {
      return sum(2)
    },
    workers: count,
    get restarts() {
      return pool.restarts
    },
    stats() {
      return { requests: sum(0), bytesOut: sum(1), connections: sum(2) }
    },
    close() {
      closed ??= (async () => {
        pool.closing = true
        stopWatching?.()
        await Promise.all(pool.workers.map((worker) => worker && closeWorker(worker, limits.shutdownTimeoutMs + 1000)))
      })()
      return closed
    },
  }
}

/**
 * Starts the worker of slot `index`; resolves once it listens (learning the port from it). A worker that
 * exits unasked later is replaced after a backoff that doubles from 100 ms to 5 s, reset once one has
 * run 10 s.
 */
function startWorker(pool: Pool, index: number, setupOf: (index: number) => WorkerSetup, log: (line: string) => void): Promise<void> {
  // The workers' loops count their parked waits on the one thread pool together (src/tcp/park-budget.ts).
  parkedWaits()
  const worker = new Worker(entry, { workerData: setupOf(index) })
  const startedAt = Date.now()
  pool.workers[index] = worker
  return new Promise((resolve, reject) => {
    let listening = false
    worker.on('message', (message: WorkerReport) => {
      if (message.type === 'subscribers') return pool.subscribers.update(index, message.counts)
      if (message.type === 'failed') {
        // The worker's own error, with its class and fields (a ListenError for a port in use).
        void worker.terminate()
        return reject(errorFromCrossing(message.error))
      }
      listening = true
      pool.port = message.port
      pool.backend = message.backend
      pool.backendReason = message.backendReason
      pool.parksOnThreadPool ||= message.parksOnThreadPool
      resolve()
    })
    worker.on('error', (error) => {
      if (!listening) reject(error)
      else log(`wirespeed: worker ${index} failed: ${(error as Error).stack ?? error}`)
    })
    worker.on('exit', (code) => {
      if (pool.workers[index] === worker) pool.workers[index] = undefined
      // Its sockets are gone with it.
      pool.subscribers.forget(index)
      if (!listening) return reject(new WorkerExitedError(`Worker ${index} exited with code ${code} before listening`))
      if (pool.closing) return
      if (Date.now() - startedAt > STABLE_MS) pool.backoffMs = BACKOFF_MS_MIN
      pool.restarts++
      log(`wirespeed: worker ${index} exited with code ${code}; starting a new one in ${pool.backoffMs} ms`)
      const delay = pool.backoffMs
      pool.backoffMs = Math.min(BACKOFF_MS_MAX, pool.backoffMs * 2)
      setTimeout(() => {
        if (!pool.closing) startWorker(pool, index, setupOf, log).catch((error: Error) => log(`wirespeed: worker ${index} could not start: ${error.message}`))
      }, delay).unref()
    })
  })
}

/** Asks a worker to close gracefully; terminates it if it has not exited after `graceMs`. */
async function closeWorker(worker: Worker, graceMs: number): Promise<void> {
  const exited = new Promise((resolve) => worker.once('exit', resolve))
  worker.postMessage({ type: 'close' })
  const force = setTimeout(() => void worker.terminate(), graceMs)
  await exited
  clearTimeout(force)
}
