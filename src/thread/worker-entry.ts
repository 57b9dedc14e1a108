/*
 * The first code a spawned worker thread runs: import the job's module, call its default export with the
 * parameters, and post the result (an ArrayBuffer result is transferred) or the error back (described, so
 * that it keeps its class and fields: ./error-crossing.ts).
 */
import { parentPort, workerData } from 'node:worker_threads'
import { errorToCrossing } from './error-crossing.ts'

const { moduleUrl, params } = workerData as { moduleUrl: string; params: unknown }
try {
  const job = (await import(moduleUrl)) as { default?: (params: unknown) => unknown }
  if (typeof job.default !== 'function') throw new TypeError(`${moduleUrl} has no default export function to run`)
  const result = await job.default(params)
  parentPort!.postMessage({ ok: true, result }, result instanceof ArrayBuffer ? [result] : [])
} catch (error) {
  parentPort!.postMessage({ ok: false, error: errorToCrossing(error) })
}
