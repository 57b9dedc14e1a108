/*
 * One worker thread of a multi-core server: imports the handler module (a handler, or an app with fetch
 * and routes), serves with reusePort on the port
 * the main thread chose, copies its counters into its slot of the shared counters four times a second (no
 * message on the request path), drops static files the main thread's watcher reports, and closes
 * gracefully when told to.
 */
import { parentPort, workerData } from 'node:worker_threads'
import { loadHandler, serveOneLoop } from '../serve/one-loop.ts'
import { StaticFiles } from '../static/static-files.ts'
import { parksOnThreadPool } from '../tcp/park-budget.ts'
import type { Change } from '../watch/types.ts'
import { COUNTERS_PER_WORKER, type WorkerSetup } from './worker-setup.ts'

const setup = workerData as WorkerSetup
const app = setup.handlerModule === undefined ? {} : await loadHandler(setup.handlerModule)
const files = setup.staticRoot === undefined ? undefined : new StaticFiles({ root: setup.staticRoot, watch: false })
const server = await serveOneLoop({ host: setup.host, port: setup.port, reusePort: true, backend: setup.backend, ...app, static: files, limits: setup.limits })
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
    clearInterval(publish)
    files?.close()
    Atomics.store(slots, slot + 2, 0n)
    parentPort!.close()
  }
})
parentPort!.postMessage({ type: 'listening', port: server.port, backend: server.backend, backendReason: server.backendReason, parksOnThreadPool: parksOnThreadPool() })
