/*
 * One worker thread of a multi-core server: imports the handler module (a handler, or an app with fetch
 * and routes), serves with reusePort on the port the main thread chose, copies its counters into its slot
 * of the shared counters four times a second (no message on the request path), reports its WebSocket
 * topics' subscriber counts as they change (at most one message per turn of its event loop), drops static
 * files the main thread's watcher reports, and closes gracefully when told to. A failure to start (a port
 * in use, a module that throws) is posted to the main thread as a description that keeps the error's
 * class and fields (./error-crossing.ts).
 */
import { parentPort, workerData } from 'node:worker_threads'
import { loadHandler, serveOneLoop } from './one-loop.ts'
import type { Server } from './types.ts'
import { StaticFiles } from '../static/static-files.ts'
import { parksOnThreadPool } from '../tcp/park-budget.ts'
import type { Change } from '../watch/types.ts'
import { errorToCrossing } from '../thread/error-crossing.ts'
import { COUNTERS_PER_WORKER, type WorkerReport, type WorkerSetup } from './worker-setup.ts'

const setup = workerData as WorkerSetup
const post = (report: WorkerReport) => parentPort!.postMessage(report)

/** Topics whose count changed since the last report, with the new count: sent once this turn ends. */
const changed = new Map<string, number>()
let closed = false
function reportCount(topic: string, count: number): void {
  if (changed.size === 0) {
    setImmediate(() => {
      if (!closed) post({ type: 'subscribers', counts: [...changed] })
      changed.clear()
    })
  }
  changed.set(topic, count)
}

let files: StaticFiles | undefined
try {
  const app = setup.handlerModule === undefined ? {} : await loadHandler(setup.handlerModule)
  files = setup.static === undefined ? undefined : new StaticFiles(setup.static)
  const server = await serveOneLoop({ lightResponse: setup.lightResponse, ...app, static: files, limits: setup.limits }, { onSubscriberCount: reportCount }, setup.listen)
  run(server, files)
} catch (error) {
  files?.close()
  // Posted as the spawn() entry posts a job's error: delivered before the worker's exit is seen.
  post({ type: 'failed', error: errorToCrossing(error) })
}

function run(server: Server, files: StaticFiles | undefined): void {
  const slots = new BigInt64Array(setup.counters)
  const slot = setup.index * COUNTERS_PER_WORKER
  const publish = setInterval(() => {
    const stats = server.stats()
    Atomics.store(slots, slot, BigInt(stats.requests))
    Atomics.store(slots, slot + 1, BigInt(stats.bytesOut))
    Atomics.store(slots, slot + 2, BigInt(stats.connections))
  }, 250)
  publish.unref()

  type Message = { type: 'invalidate'; changes: Change[] } | { type: 'publish'; topic: string; data: string | Uint8Array; compress?: boolean } | { type: 'close' }
  parentPort!.on('message', async (message: Message) => {
    if (message.type === 'invalidate') files?.invalidate(message.changes)
    else if (message.type === 'publish') server.publish(message.topic, message.data, message.compress)
    else {
      await server.close()
      closed = true
      clearInterval(publish)
      files?.close()
      Atomics.store(slots, slot + 2, 0n)
      parentPort!.close()
    }
  })
  post({ type: 'listening', port: server.port, backend: server.backend, backendReason: server.backendReason, parksOnThreadPool: parksOnThreadPool() })
}
