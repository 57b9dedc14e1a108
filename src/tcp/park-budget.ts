/*
 * The park budget: how many event loops of this process may wait, idle, on libuv's thread pool at once.
 *
 * A backend loop that cannot wait inside Node's own loop (src/ffi/node-loop-watch.ts cannot reach libuv,
 * or WIRESPEED_EPOLL_PARK=pool) parks in one blocking wait on libuv's thread pool instead. That wait holds
 * one of the pool's threads for as long as the loop is idle, and the pool is one per process
 * (UV_THREADPOOL_SIZE, 4 by default), shared by every thread's fs, DNS and zlib. So parked waits are counted
 * process-wide, in a SharedArrayBuffer that every worker thread inherits through its environment data, and
 * held to one fewer than the pool's threads (`PARKED_WAITS_MAX`): a loop that finds no room naps on a timer
 * instead (src/tcp/epoll/loop.ts). Without the budget, a fifth loop's wait would queue behind four that
 * never end, and that worker would not see its connections until another loop woke (measured: 12 of 20
 * requests unanswered with two workers on a pool of one).
 *
 * This file knows no backend: a loop takes and gives back places with `takeParkedWait()` and
 * `giveBackParkedWait()`, and says that it parks on the pool with `noteParksOnThreadPool()`; src/thread
 * makes the shared count before it starts a worker (`parkedWaits()`) and asks `parksOnThreadPool()`.
 */
import { getEnvironmentData, setEnvironmentData } from 'node:worker_threads'

/** libuv's thread-pool threads: UV_THREADPOOL_SIZE read as libuv reads it (atoi, 0 → 1, at most 1024), else 4. */
export function threadPoolSize(value = process.env.UV_THREADPOOL_SIZE): number {
  if (value === undefined) return 4
  return Math.min(Math.max(Number.parseInt(value, 10) || 1, 1), 1024)
}

/** Parked waits the process allows at once: one thread of the pool is always left to fs, DNS and zlib. */
export const PARKED_WAITS_MAX = threadPoolSize() - 1
const PARKS_KEY = 'wirespeed:epoll-parked-waits'

/**
 * The process-wide count of parked waits: made by the first thread that needs it and handed to every worker
 * thread started after (environment data is copied into each new worker, and a copied SharedArrayBuffer is
 * the same memory). So whatever starts worker threads calls this first (src/thread: spawn(), serveWorkers()).
 */
export function parkedWaits(): Int32Array {
  let memory = getEnvironmentData(PARKS_KEY)
  if (!(memory instanceof SharedArrayBuffer)) {
    memory = new SharedArrayBuffer(4)
    setEnvironmentData(PARKS_KEY, memory)
  }
  return new Int32Array(memory as SharedArrayBuffer)
}

/** Takes a place for a parked wait. @returns false when every place is taken (nap instead) */
export function takeParkedWait(count: Int32Array): boolean {
  if (Atomics.add(count, 0, 1) < PARKED_WAITS_MAX) return true
  Atomics.sub(count, 0, 1)
  return false
}

/** Gives back a place taken with `takeParkedWait()`. */
export function giveBackParkedWait(count: Int32Array): void {
  Atomics.sub(count, 0, 1)
}

let parksOnPool = false

/** A loop of this thread parks on libuv's thread pool when idle (it cannot wait in Node's own loop). */
export function noteParksOnThreadPool(): void {
  parksOnPool = true
}

/** True when an idle event loop of this thread waits on libuv's thread pool rather than in Node's own loop. */
export function parksOnThreadPool(): boolean {
  return parksOnPool
}
