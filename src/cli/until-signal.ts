/*
 * untilSignal(): the promise a long-running subcommand awaits, settled by the first SIGINT or SIGTERM. A
 * command calls it before it prints the line that says it is ready, so a supervisor or a test that stops it as
 * soon as that line appears gets a clean exit, never the default action of the signal.
 */

/** Resolves with the first SIGINT or SIGTERM after the call; both listeners are gone then. */
export function untilSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const stop = (signal: NodeJS.Signals) => {
      process.off('SIGINT', stop)
      process.off('SIGTERM', stop)
      resolve(signal)
    }
    process.on('SIGINT', stop)
    process.on('SIGTERM', stop)
  })
}
