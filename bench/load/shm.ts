/*
 * `npm run bench -- shm`: message passing on one machine.
 *   - ping-pong between processes: the wirespeed process channel (koffi mapping) and the C reference's
 *     loop in turns in the same two processes (bench/load/shm-pingpong.ts: this machine changes speed within
 *     milliseconds, and only figures from the same moments compare), the C reference alone in its own
 *     processes (for context), and a Unix socket (node:net)
 *   - ping-pong between threads: a wirespeed thread channel (SharedArrayBuffer) and node's MessagePort
 *   - one-way streaming between processes, 11-byte messages, published every 1 and every 30 messages,
 *     in turns with C's loop in the same way (bench/load/shm-stream.ts), and C alone for context
 *   - ping-pong over a TCP channel on loopback, one connection: the caller's own socket (epoll backend) and
 *     the bridge thread (node backend), against a C TCP ping-pong (bench/c/tcp-pingpong.c)
 * Processes are pinned one per core; contenders are interleaved over rounds; medians, with ratios to the
 * C reference (or to MessagePort for the thread rows) from the same run.
 */
import { PINGPONG_CHUNK, STREAM_CHUNK } from '../../src/cli/shm-turns.ts'
import { spawn } from '../lib/children.ts'
import { ratio, root, roundRatios } from '../lib/compare.ts'
import { buildC, cc, machineLines, median, pinned } from '../lib/measure.ts'
import type { SuiteOptions } from './http.ts'

interface Sample {
  perSecond: number
  errors: number
}

interface Case {
  group: string
  name: string
  unit: 'roundtrips/s' | 'messages/s'
  reference?: boolean
  /** The C program it runs, left out (saying why) where it cannot be built. */
  needs?: 'reference' | 'tcpReference'
  run(count: number): Promise<Sample>
}

const node = process.execPath
const reference = `${root}bench/.work/shm-reference`
const tcpReference = `${root}bench/.work/tcp-pingpong`

/** The TCP channel's ping-pong (bench/load/tcp-channel-pingpong.ts) on `backend`, side A on core 1. */
async function tcpChannelRun(count: number, backend: 'epoll' | 'node'): Promise<Sample> {
  const result = await runJson(pinned('1', [node, `${root}bench/load/tcp-channel-pingpong.ts`, String(count)]), { WIRESPEED_BACKEND: backend })
  return { perSecond: result.perSecond!, errors: result.errors! }
}

function runJson(argv: string[], env: Record<string, string> = {}): Promise<Record<string, number>> {
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } })
    let out = ''
    let errors = ''
    child.stdout.on('data', (bytes: Buffer) => (out += bytes))
    child.stderr.on('data', (bytes: Buffer) => (errors += bytes))
    child.on('exit', (code) => {
      const line = out.trim().split('\n').filter((l) => l.startsWith('{')).at(-1)
      if (code !== 0 || line === undefined) reject(new Error(`${argv.join(' ')} exited with ${code}: ${errors}${out}`))
      else resolve(JSON.parse(line) as Record<string, number>)
    })
  })
}

/** Starts a long-running side pinned to core 0 and waits until it says it is ready (or a moment passes). */
async function startSide(argv: string[], readyText: string): Promise<ReturnType<typeof spawn>> {
  const child = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] })
  await new Promise<void>((resolve, reject) => {
    let seen = ''
    const timer = setTimeout(() => reject(new Error(`${argv.join(' ')} did not start`)), 10_000)
    const look = (bytes: Buffer) => {
      seen += bytes
      if (seen.includes(readyText)) {
        clearTimeout(timer)
        resolve()
      }
    }
    child.stdout!.on('data', look)
    child.stderr!.on('data', look)
  })
  return child
}

async function stop(child: ReturnType<typeof spawn>): Promise<void> {
  if (child.exitCode !== null) return
  const exited = new Promise((resolve) => child.once('exit', resolve))
  child.kill('SIGTERM')
  await exited
}

let channels = 0
const cases: Case[] = [
  {
    group: 'ping-pong between processes', name: 'wirespeed process channel (koffi mapping)', unit: 'roundtrips/s',
    async run(count) {
      // bench/load/shm-pingpong.ts runs C's loop in the same two processes, in turns with the channel.
      return inTurns([node, `${root}bench/load/shm-pingpong.ts`, String(count), String(PINGPONG_CHUNK), noLoops ? '' : loops])
    },
  },
  {
    group: 'ping-pong between processes', name: 'C reference, in turns with wirespeed in the same processes', unit: 'roundtrips/s', reference: true,
    run: cInTurns,
  },
  {
    group: 'ping-pong between processes', name: 'Unix socket (node:net)', unit: 'roundtrips/s',
    async run(count) {
      const path = `/tmp/wirespeed-bench-${process.pid}-${++channels}.sock`
      const server = await startSide(pinned('0', [node, `${root}bench/load/unix-pingpong.ts`, 'server', path]), 'ready')
      try {
        const result = await runJson(pinned('1', [node, `${root}bench/load/unix-pingpong.ts`, 'client', path, String(Math.max(1000, Math.floor(count / 50)))]))
        return { perSecond: result.perSecond!, errors: result.errors! }
      } finally {
        await stop(server)
      }
    },
  },
  {
    group: 'ping-pong between processes', name: 'C reference alone, in its own two processes (fork)', unit: 'roundtrips/s', needs: 'reference',
    async run(count) {
      const result = await runJson([reference, 'pingpong', String(count)])
      return { perSecond: result.perSecond!, errors: result.errors! }
    },
  },
  {
    group: 'ping-pong between threads', name: 'wirespeed thread channel', unit: 'roundtrips/s',
    async run(count) {
      const results = await threadRun(count)
      messagePortSample = results['MessagePort']
      return results['wirespeed thread channel']!
    },
  },
  {
    group: 'ping-pong between threads', name: 'MessagePort (postMessage)', unit: 'roundtrips/s', reference: true,
    async run() {
      const sample = messagePortSample
      messagePortSample = undefined
      if (sample === undefined) throw new Error('MessagePort is measured in the same run as the thread channel, which did not run')
      return sample
    },
  },
  ...[1, 30].flatMap((batch): Case[] => [
    {
      group: `stream between processes, batch ${batch}`, name: 'wirespeed process channel', unit: 'messages/s',
      run: (count) => inTurns([node, `${root}bench/load/shm-stream.ts`, String(count * 10), String(batch), String(STREAM_CHUNK), noLoops ? '' : loops]),
    },
    {
      group: `stream between processes, batch ${batch}`, name: 'C reference, in turns with wirespeed in the same processes', unit: 'messages/s', reference: true,
      run: cInTurns,
    },
    {
      group: `stream between processes, batch ${batch}`, name: 'C reference alone, in its own two processes (fork)', unit: 'messages/s', needs: 'reference',
      async run(count) {
        const result = await runJson([reference, 'stream', String(count * 10), String(batch)])
        return { perSecond: result.perSecond!, errors: result.errors! }
      },
    },
  ]),
  {
    group: 'ping-pong over TCP (loopback, one connection)', name: 'wirespeed TCP channel (the caller\'s socket, epoll)', unit: 'roundtrips/s',
    run: (count) => tcpChannelRun(Math.max(2000, Math.floor(count / 40)), 'epoll'),
  },
  {
    group: 'ping-pong over TCP (loopback, one connection)', name: 'wirespeed TCP channel (bridge thread, node backend)', unit: 'roundtrips/s',
    run: (count) => tcpChannelRun(Math.max(500, Math.floor(count / 400)), 'node'),
  },
  {
    group: 'ping-pong over TCP (loopback, one connection)', name: 'C TCP ping-pong', unit: 'roundtrips/s', reference: true, needs: 'tcpReference',
    async run(count) {
      const result = await runJson([tcpReference, String(Math.max(2000, Math.floor(count / 40)))])
      return { perSecond: result.perSecond!, errors: result.errors! }
    },
  },
]

const loops = `${root}bench/.work/shm-loops.so`
/** Why the C loops' library cannot be built here (set by runShmBench), or undefined. */
let noLoops: string | undefined
/** The C sample from the same run as the process channel's (its case comes next). */
let cSample: Sample | undefined

/** Runs a driver that takes turns with C (src/cli/shm-turns.ts): the channel's sample, C's kept for cInTurns. */
async function inTurns(argv: string[]): Promise<Sample> {
  const result = await runJson(argv)
  cSample = result.cPerSecond === undefined ? undefined : { perSecond: result.cPerSecond, errors: result.cErrors! }
  return { perSecond: result.perSecond!, errors: result.errors! }
}

/** C's sample from the run inTurns just made. */
async function cInTurns(): Promise<Sample> {
  const sample = cSample
  cSample = undefined
  if (sample === undefined) throw new Error(noLoops ?? 'it runs in the same processes as the wirespeed channel, which did not run')
  return sample
}

/** MessagePort's sample from the same run of shm-threads.ts as the thread channel's (its case comes next). */
let messagePortSample: Sample | undefined

/** Runs shm-threads.ts once (both thread contenders, one process pinned to both cores). */
function threadRun(count: number): Promise<Record<string, Sample>> {
  const [command, ...args] = pinned('0,1', [node, `${root}bench/load/shm-threads.ts`, String(count)])
  return new Promise((resolve, reject) => {
    const child = spawn(command!, args, { stdio: ['ignore', 'pipe', 'inherit'] })
    let out = ''
    child.stdout.on('data', (bytes: Buffer) => (out += bytes))
    child.on('exit', (code) => {
      if (code !== 0) return reject(new Error(`shm-threads.ts exited with ${code}`))
      const results: Record<string, Sample> = {}
      for (const line of out.trim().split('\n')) {
        const parsed = JSON.parse(line) as { contender: string; perSecond: number; errors: number }
        results[parsed.contender] = { perSecond: parsed.perSecond, errors: parsed.errors }
      }
      resolve(results)
    })
  })
}

export async function runShmBench(options: SuiteOptions): Promise<string> {
  const { log } = options
  const count = options.quick ? 100_000 : 2_000_000
  const noReference = buildC(`${root}bench/c/shm-reference.c`, reference, log, [], [`${root}bench/c/shm-loops.c`])
  noLoops = buildC(`${root}bench/c/shm-loops.c`, loops, log, ['-shared', '-fPIC'])
  const noTcpReference = buildC(`${root}bench/c/tcp-pingpong.c`, tcpReference, log)
  const samples = new Map<string, (Sample & { round: number })[]>()
  const skipped: string[] = []
  for (let round = 0; round < options.rounds; round++) {
    for (const test of cases) {
      if ((test.needs === 'reference' && noReference) || (test.needs === 'tcpReference' && noTcpReference)) continue
      try {
        const sample = { ...(await test.run(count)), round }
        const key = `${test.group}\t${test.name}`
        samples.set(key, [...(samples.get(key) ?? []), sample])
        log(`  round ${round + 1} ${test.group} | ${test.name}: ${Math.round(sample.perSecond).toLocaleString('en-US')} ${test.unit}${sample.errors ? `, ${sample.errors} errors` : ''}`)
      } catch (error) {
        const why = `${test.group} | ${test.name}: ${(error as Error).message.split('\n')[0]}`
        if (!skipped.includes(why)) skipped.push(why)
        log(`  skipped ${why}`)
      }
    }
  }
  if (noReference) skipped.push(`C reference: ${noReference}`)
  if (noTcpReference) skipped.push(`C TCP ping-pong: ${noTcpReference}`)

  const lines = [
    '# Shared memory: ping-pong and streaming on one machine',
    '',
    `Command: \`npm run bench -- shm${options.quick ? ' --quick' : ''}\` (${options.rounds} round${options.rounds > 1 ? 's' : ''}, contenders interleaved; medians)`,
    '',
    ...machineLines({ cc: cc ? 'present' : undefined }),
    '- Messages of 11 bytes. Processes: one pinned to each core. Threads: one process on both cores.',
    `- Between processes, the wirespeed channel and C's loops (bench/c/shm-loops.c, called through koffi) take turns in the same two processes, every ${PINGPONG_CHUNK.toLocaleString('en-US')} roundtrips or ${STREAM_CHUNK.toLocaleString('en-US')} streamed messages, the order swapped every pair; each rate is the median of its turns: this machine's speed changes within milliseconds (the C ping-pong alone measures 1-11 M roundtrips/s from one moment to the next), so the C reference alone, run at other moments in its own processes, is there for context`,
    '- Luajit-Tcp-Server (2013, its own machine) reported 4.8 million shared-memory roundtrips/s between two applications and 105,000 TCP roundtrips/s: for context, not comparable hardware',
    '- wirespeed ping-pong checks every reply byte for byte; streams check every sequence number; errors are counted, and must be 0',
    '',
    '| Test | Contender | rate (median) | ns per message | vs reference (median of per-round ratios) | lowest-highest round |',
    '|---|---|---:|---:|---:|---:|',
  ]
  const groups = [...new Set(cases.map((test) => test.group))]
  for (const group of groups) {
    const inGroup = cases.filter((test) => test.group === group)
    const referenceCase = inGroup.find((test) => test.reference)
    const referenceRuns = referenceCase ? samples.get(`${group}\t${referenceCase.name}`) : undefined
    for (const test of inGroup) {
      const runs = samples.get(`${group}\t${test.name}`)
      if (!runs) continue
      const rate = median(runs.map((s) => s.perSecond))
      const errors = runs.reduce((sum, s) => sum + s.errors, 0)
      const perMessage = test.unit === 'roundtrips/s' ? 1e9 / rate / 2 : 1e9 / rate
      // Each round's rate over the reference's in the same round, then the median: this machine's speed
      // changes within seconds (the C ping-pong alone swings 2-7 M roundtrips/s), so unpaired medians mislead.
      const ratios = roundRatios(runs, referenceRuns, (s) => s.perSecond)
      const versus = ratios.length === 0 ? NaN : median(ratios)
      // The spread matters as much here: some figures (the stream in batches of 30) move from run to run.
      const spread = ratios.length > 1 && test !== referenceCase ? `${Math.min(...ratios).toFixed(2)}-${Math.max(...ratios).toFixed(2)}` : ''
      lines.push(`| ${group} | ${test.name}${errors ? ` (${errors} errors)` : ''} | ${Math.round(rate).toLocaleString('en-US')} ${test.unit} | ${perMessage.toFixed(1)} | ${ratio(versus, 1)} | ${spread} |`)
    }
  }
  for (const why of skipped) lines.push('', `Skipped ${why}`)
  return `${lines.join('\n')}\n`
}
