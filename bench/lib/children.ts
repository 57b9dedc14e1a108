/*
 * Every process the benchmarks start goes through `spawn` here, so the runner can stop what it started on
 * every way out: a normal end, an error, or a signal sent to the runner alone (`kill -INT <pid>`, which the
 * contenders in their own process groups would not see). Children are stopped by their PID: SIGTERM first
 * (nginx's master then stops its workers), SIGKILL for what is still running after a grace period.
 */
import { spawn as nodeSpawn, type ChildProcess } from 'node:child_process'

const running = new Set<ChildProcess>()
const GRACE_MS = 2000

/** child_process.spawn, remembering the child until it exits. */
export const spawn = ((...args: Parameters<typeof nodeSpawn>) => {
  const child = nodeSpawn(...args)
  running.add(child)
  child.once('exit', () => running.delete(child))
  return child
}) as typeof nodeSpawn

/** Sends `signal` to every child still running. */
export function signalChildren(signal: NodeJS.Signals): void {
  for (const child of running) if (child.exitCode === null && child.signalCode === null) child.kill(signal)
}

/** The children still running (for tests of the runner). */
export function runningChildren(): number {
  return running.size
}

let installed = false
let stopping = false
/** True once a signal is stopping the runner: what fails from then on is the stop, not a finding. */
export function stoppingOnSignal(): boolean {
  return stopping
}

/**
 * On SIGINT, SIGTERM or SIGHUP: stop every child, wait for them (at most the grace period, then SIGKILL),
 * and exit with 128 + the signal's number. At any exit, SIGKILL whatever is left.
 */
export function stopChildrenOnExit(): void {
  if (installed) return
  installed = true
  process.on('exit', () => signalChildren('SIGKILL'))
  const numbers: Record<string, number> = { SIGHUP: 1, SIGINT: 2, SIGTERM: 15 }
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(signal, async () => {
      stopping = true
      process.stderr.write(`bench: ${signal}: stopping ${running.size} process(es) it started\n`)
      signalChildren('SIGTERM')
      const deadline = Date.now() + GRACE_MS
      while (running.size > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20))
      signalChildren('SIGKILL')
      process.exit(128 + numbers[signal]!)
    })
  }
}
