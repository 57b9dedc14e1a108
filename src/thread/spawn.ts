/*
 * `spawn()`: run a module's default export on its own worker thread (its own JavaScript heap and event
 * loop, as the old project's threads each had their own interpreter state), with parameters in and a
 * result out on `join()`.
 *
 * Parameters and results cross by structured clone; an ArrayBuffer result is transferred, not copied. An
 * error thrown in the worker rejects `join()` with the worker's name, message, stack and fields, as an
 * instance of its class when it is one of ours or a built-in one (./error-crossing.ts). The optional
 * `timeoutMs` terminates the worker and rejects. The worker is unref'd only once it is done, so a pending
 * job keeps the process alive, and a finished one never does.
 */
import { Worker } from 'node:worker_threads'
import { ThreadError } from '../errors.ts'
import { checkLimit, threadLimitSpecs } from '../limits.ts'
import { parkedWaits } from '../tcp/park-budget.ts'
import { errorFromCrossing } from './error-crossing.ts'
import type { SpawnOptions, Thread } from './types.ts'

const entry = new URL(import.meta.url.endsWith('.ts') ? './worker-entry.ts' : './worker-entry.js', import.meta.url)

/**
 * Runs `moduleUrl`'s default export with `params` on a new worker thread.
 * @example
 * // sum.ts: export default ({ n }: { n: number }) => n * (n + 1) / 2
 * const job = spawn<number>(new URL('./sum.ts', import.meta.url), { n: 10 })
 * console.log(await job.join()) // 55
 */
export function spawn<Result = unknown>(moduleUrl: URL | string, params?: unknown, options: SpawnOptions = {}): Thread<Result> {
  if (options.timeoutMs !== undefined) checkLimit('timeoutMs', options.timeoutMs, threadLimitSpecs.timeoutMs)
  if (options.heapMbMax !== undefined) checkLimit('heapMbMax', options.heapMbMax, threadLimitSpecs.heapMbMax)
  const href = moduleUrl instanceof URL ? moduleUrl.href : new URL(moduleUrl, `file://${process.cwd()}/`).href
  // A thread that serves counts its loop's parked wait with every other thread's (src/tcp/park-budget.ts).
  parkedWaits()
  const worker = new Worker(entry, {
    workerData: { moduleUrl: href, params },
    resourceLimits: options.heapMbMax === undefined ? undefined : { maxOldGenerationSizeMb: options.heapMbMax },
  })
  let timer: NodeJS.Timeout | undefined
  const result = new Promise<Result>((resolve, reject) => {
    let settled = false
    const settle = (error: Error | undefined, value?: Result) => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      if (error) reject(error)
      else resolve(value as Result)
    }
    worker.on('message', (message: { ok: boolean; result?: Result; error?: unknown }) => {
      if (message.ok) settle(undefined, message.result)
      else {
        const error = errorFromCrossing(message.error)
        // A job may throw what is not an Error (a string): join() still rejects with an Error.
        settle(error instanceof Error ? error : new Error(String(error)))
      }
    })
    worker.on('error', (error: Error) => settle(error))
    worker.on('exit', (code) => settle(new ThreadError('THREAD_EXITED', `Thread ${worker.threadId} exited with code ${code} before it returned a result`)))
    if (options.timeoutMs !== undefined) {
      timer = setTimeout(() => {
        settle(new ThreadError('THREAD_TIMEOUT', `Thread ${worker.threadId} did not finish within ${options.timeoutMs} ms`))
        void worker.terminate()
      }, options.timeoutMs)
    }
  })
  // The caller may never call join(): keep an unobserved rejection from crashing the process.
  result.catch(() => {})
  return {
    threadId: worker.threadId,
    join: () => result,
    terminate: async () => {
      await worker.terminate()
    },
  }
}
