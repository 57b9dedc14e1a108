/*
 * The `wirespeed` command line: one file per subcommand under src/cli/, dispatched from here.
 * Exit codes: 0 success, 1 failure while running, 2 a usage error (bad flag, missing folder, port in use).
 * Every error a command meets in operation (a WirespeedError: a port in use, a channel whose peer died) or
 * in its arguments (a UsageError, or a RangeError naming an option) is one line on stderr and exit code 2,
 * decided here by class and code, never by message text; anything else is a bug and keeps its stack.
 *
 * `bench` runs the benchmarks, which live in a checkout only (the package does not ship them): the help
 * lists it only where it can run.
 */
import { existsSync, readFileSync } from 'node:fs'
import { UsageError, WirespeedError } from '../errors.ts'

interface Command {
  summary: string
  /** False where the command cannot run (bench outside a checkout): left out of the help. */
  listed?: boolean
  /** Loaded on use, so `wirespeed --help` starts fast and one command's imports do not slow another. */
  run?: () => Promise<{ run(args: string[]): Promise<number> }>
}

const commands: Record<string, Command> = {
  serve: { summary: 'serve a folder over HTTP: wirespeed serve [dir] [--port 5001] [--host 127.0.0.1] [--workers N|auto]', run: () => import('./serve.ts') },
  bench: {
    summary: 'run the benchmarks (in a checkout): wirespeed bench [http] [--quick]',
    listed: existsSync(new URL('../../bench/run.ts', import.meta.url)),
    run: () => import('./bench.ts'),
  },
  shm: { summary: 'shared-memory channel demo: wirespeed shm server|client --name NAME [--mode pingpong|stream]', run: () => import('./shm.ts') },
  tcp: { summary: 'TCP echo server and roundtrip client: wirespeed tcp server|client --port N [--framed]', run: () => import('./tcp.ts') },
  watch: { summary: 'print changes to files and folders: wirespeed watch <path> [--debounce 20]', run: () => import('./watch.ts') },
  lookup: { summary: 'resolve a host name: wirespeed lookup <host> [--reverse] [--port 80]', run: () => import('./lookup.ts') },
}

/** The commands the help lists, in order. */
function listed(): string[] {
  return Object.keys(commands).filter((name) => commands[name]!.listed !== false)
}

export function usage(): string {
  const names = listed()
  const width = Math.max(...names.map((name) => name.length))
  const lines = names.map((name) => `  ${name.padEnd(width)}  ${commands[name]!.summary}`)
  return `Usage: wirespeed <command> [options]\n\nCommands:\n${lines.join('\n')}\n\nwirespeed <command> --help shows a command's options.\n`
}

export async function main(args: string[]): Promise<number> {
  const [name, ...rest] = args
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(usage())
    return name === undefined ? 2 : 0
  }
  if (name === '--version' || name === '-v') {
    const packageJson = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }
    process.stdout.write(`${packageJson.version}\n`)
    return 0
  }
  const command = commands[name]
  if (command === undefined) {
    process.stderr.write(`wirespeed: unknown command ${JSON.stringify(name)}: expected one of ${listed().join(', ')}\n`)
    return 2
  }
  if (command.run === undefined) {
    process.stderr.write(`wirespeed ${name}: not built yet (planned)\n`)
    return 2
  }
  try {
    return await (await command.run()).run(rest)
  } catch (error) {
    if (!(error instanceof WirespeedError || error instanceof RangeError)) throw error
    const line = error instanceof UsageError && error.unknownOption !== undefined
      ? `${error.unknownOption} is not an option of ${name}; wirespeed ${name} --help lists its options`
      : error.message
    process.stderr.write(`wirespeed ${name}: ${line}\n`)
    return 2
  }
}
