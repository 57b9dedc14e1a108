/*
 * `wirespeed watch <path> [--debounce 20]`: prints each change under a file or folder with a timestamp
 * (the old TestKqueue), until SIGINT/SIGTERM.
 */
import { watch } from '../watch/watch.ts'
import { integerFlag, parseFlags, UsageError } from './args.ts'
import { untilSignal } from './until-signal.ts'

export async function run(args: string[]): Promise<number> {
  const { values, positionals } = parseFlags(args, { debounce: { type: 'string' }, help: { type: 'boolean' } })
  if (values.help) {
    process.stdout.write('Usage: wirespeed watch <path> [--debounce 20]\n\nPrints each change (create, change, delete, rename, rescan) with a timestamp.\n')
    return 0
  }
  if (positionals.length !== 1) throw new UsageError('Expected one path to watch')
  const debounceMs = integerFlag('debounce', values.debounce, 20, 0, 60_000)
  const stop = watch(positionals[0]!, { debounceMs }, (changes) => {
    for (const change of changes) {
      const detail = change.from === undefined ? change.path : `${change.from} -> ${change.path}`
      process.stdout.write(`${new Date().toISOString()} ${change.type.padEnd(6)} ${detail}\n`)
    }
  })
  const stopped = untilSignal()
  process.stderr.write(`wirespeed watch: watching ${positionals[0]} (Ctrl-C to stop)\n`)
  await stopped
  stop()
  return 0
}
