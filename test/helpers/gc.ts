/*
 * A garbage collector the tests can call, so that memory is measured as what is still referenced rather
 * than what is not yet collected: V8's gc() (exposed at run time) under Node, Bun.gc(true) under Bun.
 *
 * Under Node it collects twice: V8 frees the backing stores of dead ArrayBuffers on a concurrent sweeper
 * after a collection returns, so `process.memoryUsage().arrayBuffers` read right after one gc() can still
 * count them (measured: 6 of 120 reads right after one gc() counted 25 MB of dead 64 KiB buffers); the next
 * collection finishes that sweep first (0 of 120 after two). A static test that allowed 4 MiB for a reader
 * that never reads failed about 1 run in 12 on the node backend this way, counting dead file chunks.
 */
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'

const bun = (globalThis as { Bun?: { gc(force: boolean): void } }).Bun

export const collectGarbage: () => void = bun !== undefined
  ? () => bun.gc(true)
  : (() => {
      setFlagsFromString('--expose-gc')
      const gc = runInNewContext('gc') as () => void
      return () => {
        gc()
        gc()
      }
    })()
