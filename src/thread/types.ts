/* The types a user of `spawn()` writes against. */

export interface SpawnOptions {
  /** Terminate the worker and reject `join()` after this many milliseconds. */
  timeoutMs?: number
  /** Heap limit of the worker in MiB (default: Node's). */
  heapMbMax?: number
}

/** A running job. */
export interface Thread<Result> {
  readonly threadId: number
  /** The result of the module's default export (awaited), or its error. */
  join(): Promise<Result>
  /** Stops the worker at once; `join()` then rejects. */
  terminate(): Promise<void>
}
