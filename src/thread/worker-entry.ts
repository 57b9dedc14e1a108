/*
 * The first code a spawned worker thread runs: import the job's module, call its default export with the
 * parameters, and post the result (an ArrayBuffer result is transferred) or the error back.
 */
import { parentPort, workerData } from 'node:worker_threads'

const { moduleUrl, params } = workerData as { moduleUrl: string; params: unknown }
try {
  const job = (await import(moduleUrl)) as { default?: (params: unknown) => unknown }
  if (typeof job.default !== 'function') throw new TypeError(`${moduleUrl} has no default export function to run`)
  const result = await job.default(params)
  parentPort!.postMessage({ ok: true, result }, result instanceof ArrayBuffer ? [result] : [])
} catch (error) {
  const { name = 'Error', message = String(error), stack = '' } = error instanceof Error ? error : {}
  parentPort!.postMessage({ ok: false, error: { name, message, stack } })
}
