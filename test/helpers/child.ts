/*
 * Test helpers for child processes: wait on what a child prints, not on a clock. A child that exits or stays
 * silent fails the wait with what it printed, bounded by a timeout that holds on a machine several times
 * slower than a fast one (starting Node, stripping types and loading koffi takes seconds on a loaded core).
 */
import type { ChildProcess } from 'node:child_process'

/**
 * Resolves with everything `child` has printed on stdout once it matches `pattern`; rejects when the child
 * exits first or `timeoutMs` passes. Reads stdout from the moment it is called.
 */
export function untilPrinted(child: ChildProcess, pattern: RegExp, timeoutMs = 30_000): Promise<string> {
  return new Promise((resolve, reject) => {
    let out = ''
    const timer = setTimeout(() => finish(new Error(`Timed out after ${timeoutMs} ms waiting for the child to print ${pattern}; it printed ${JSON.stringify(out)}`)), timeoutMs)
    const onData = (bytes: Buffer) => {
      out += bytes
      if (pattern.test(out)) finish()
    }
    const onExit = (code: number | null, signal: string | null) => finish(new Error(`The child exited (${signal ?? code}) before printing ${pattern}; it printed ${JSON.stringify(out)}`))
    function finish(error?: Error): void {
      clearTimeout(timer)
      child.stdout!.off('data', onData)
      child.off('exit', onExit)
      if (error) reject(error)
      else resolve(out)
    }
    child.stdout!.on('data', onData)
    child.on('exit', onExit)
  })
}
