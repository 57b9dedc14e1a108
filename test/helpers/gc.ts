/*
 * A garbage collector the tests can call, so that memory is measured as what is still referenced rather
 * than what is not yet collected: V8's gc() (exposed at run time) under Node, Bun.gc(true) under Bun.
 */
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'

const bun = (globalThis as { Bun?: { gc(force: boolean): void } }).Bun

export const collectGarbage: () => void = bun !== undefined
  ? () => bun.gc(true)
  : (() => {
      setFlagsFromString('--expose-gc')
      return runInNewContext('gc') as () => void
    })()
