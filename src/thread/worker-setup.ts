/*
 * What the main thread hands each serving worker, and the layout of the shared counters:
 *
 *   SharedArrayBuffer, BigInt64 slots:  | w0.requests | w0.bytesOut | w0.connections | w1.requests | ...
 *
 * Each worker is the only writer of its own three slots (Atomics.store); the main thread sums them.
 */
import type { Limits } from '../limits.ts'
import type { Backend } from '../tcp/types.ts'

export interface WorkerSetup {
  index: number
  host: string
  port: number
  limits: Partial<Limits> | undefined
  backend: Backend | undefined
  handlerModule: string | undefined
  staticRoot: string | undefined
  counters: SharedArrayBuffer
}

export const COUNTERS_PER_WORKER = 3
