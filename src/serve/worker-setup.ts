/*
 * What the main thread hands each serving worker, and the layout of the shared counters:
 *
 *   SharedArrayBuffer, BigInt64 slots:  | w0.requests | w0.bytesOut | w0.connections | w1.requests | ...
 *
 * Each worker is the only writer of its own three slots (Atomics.store); the main thread sums them.
 *
 * And the messages between them. To a worker: `invalidate` (files changed), `publish`, `close`. From a
 * worker: `listening` (once, with its port and backend), `failed` (instead of `listening`, with its error
 * described: ./error-crossing.ts), `subscribers` (topics whose number of subscribers changed, with the new
 * number: ./subscriber-counts.ts).
 */
import type { Limits } from '../limits.ts'
import type { StaticOptions } from '../static/types.ts'
import type { Backend, ListenSpec } from '../tcp/types.ts'

export interface WorkerSetup {
  index: number
  /** Where to listen, whole (src/serve/listen-spec.ts): the port is the first worker's once it has bound it. */
  listen: ListenSpec
  limits: Partial<Limits> | undefined
  handlerModule: string | undefined
  lightResponse: boolean | undefined
  /** The static options as given, the root resolved and `watch` false (the main thread watches for all). */
  static: StaticOptions | undefined
  counters: SharedArrayBuffer
}

export const COUNTERS_PER_WORKER = 3

/** What a worker posts to the main thread. */
export type WorkerReport =
  | { type: 'listening'; port: number; backend: Backend; backendReason: string; parksOnThreadPool: boolean }
  | { type: 'failed'; error: unknown }
  | { type: 'subscribers'; counts: [string, number][] }
