/*
 * The benchmark runner: `npm run bench -- <suite> [--quick] [--rounds N] [--seconds S] [--out FILE]`.
 * Suites: http, apps, static, websocket, shm, tcp, soak. A full run writes its table to bench/results/<suite>.md; --quick (what the tests run, so
 * the harness cannot rot) does one short round and prints the table without writing it, unless --out says.
 */
import { writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { runAppsBench } from './load/apps.ts'
import { runHttpBench } from './load/http.ts'
import { runShmBench } from './load/shm.ts'
import { runStaticBench } from './load/static.ts'
import { runTcpBench } from './load/tcp.ts'
import { runWebSocketBench } from './load/websocket.ts'
import { stopChildrenOnExit, stoppingOnSignal } from './lib/children.ts'
import { runSoak } from './soak.ts'

const suites = { http: runHttpBench, apps: runAppsBench, static: runStaticBench, websocket: runWebSocketBench, shm: runShmBench, tcp: runTcpBench, soak: runSoak } as const

const HELP = `Usage: npm run bench -- [suite ...] [--quick] [--rounds N] [--seconds S] [--out FILE]
       wirespeed bench [suite ...] [options]   (from a checkout)

Suites: ${Object.keys(suites).join(', ')} (none named: every suite but soak).
  --quick      one short round, the table printed and not written (what the tests run)
  --rounds N   interleaved rounds per contender, 1-20 (default 3; 1 with --quick)
  --seconds S  seconds per measurement, above 0 and at most 60 (default 5; 1 with --quick)
  --out FILE   where the table goes (default bench/results/<suite>.md; none with --quick)
Run bash bench/setup.sh first for wrk, nginx and Bun; what is missing is skipped, and said.
`

export async function main(args: string[]): Promise<number> {
  let parsed
  try {
    parsed = parseArgs({
      args,
      allowPositionals: true,
      options: {
        quick: { type: 'boolean', default: false },
        rounds: { type: 'string' },
        seconds: { type: 'string' },
        out: { type: 'string' },
        help: { type: 'boolean', short: 'h', default: false },
      },
    })
  } catch (error) {
    process.stderr.write(`bench: ${(error as Error).message}\n`)
    return 2
  }
  const { values, positionals } = parsed
  if (values.help) {
    process.stdout.write(HELP)
    return 0
  }
  stopChildrenOnExit()
  // Without a name: every speed suite (the soak is long, and asked for by name).
  const names = positionals.length ? positionals : Object.keys(suites).filter((name) => name !== 'soak')
  for (const name of names) {
    if (!(name in suites)) {
      process.stderr.write(`bench: unknown suite ${JSON.stringify(name)}: expected one of ${Object.keys(suites).join(', ')}\n`)
      return 2
    }
  }
  const quick = values.quick
  const rounds = Number(values.rounds ?? (quick ? 1 : 3))
  const seconds = Number(values.seconds ?? (quick ? 1 : 5))
  if (!Number.isInteger(rounds) || rounds < 1 || rounds > 20 || !(seconds > 0 && seconds <= 60)) {
    process.stderr.write('bench: expected --rounds from 1 to 20 and --seconds above 0, at most 60\n')
    return 2
  }
  for (const name of names) {
    const table = await suites[name as keyof typeof suites]({ quick, rounds, seconds, log: (line) => process.stderr.write(`${line}\n`) })
    process.stdout.write(table)
    const out = values.out ?? (quick ? undefined : fileURLToPath(new URL(`./results/${name}.md`, import.meta.url)))
    if (out) {
      writeFileSync(out, table)
      process.stderr.write(`bench: wrote ${out}\n`)
    }
  }
  return 0
}

if (import.meta.url === `file://${process.argv[1]}`) {
  process.exitCode = await main(process.argv.slice(2)).catch((error: unknown) => {
    // A contender stopped by the signal handler fails its measurement: the handler exits, once it has stopped all.
    if (stoppingOnSignal()) return new Promise<number>(() => {})
    throw error
  })
}
