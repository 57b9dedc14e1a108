/*
 * `wirespeed shm server --name NAME` and `wirespeed shm client --name NAME [...]`: the old AppSharedMemory
 * demo, two separate processes talking through shared memory, measured as `npm run bench -- shm` measures
 * them and beside C doing the same in the same run.
 *
 * Protocol: the client opens the channel and sends a hello ("mode pairs chunk size batch c cpus"), the server
 * answers "ok 1" when it will take turns with C too (it and the client both found C's loops, the messages
 * are C's 11 bytes, and the two sides' CPUs, cpus, are two at least), else "ok 0 why". Then both run the bench's loops (./shm-turns.ts): after a
 * warm-up, `pairs` pairs of turns of `chunk` messages, the channel's and C's (over a mapping of its own,
 * NAME-c, between the same two processes) in an order both follow. In pingpong mode the server copies each
 * message into its reply and the client checks every byte of it; in stream mode the client sends, the
 * server checks each message's length and sequence number, answers each turn with a word and sends the
 * count of wrong messages at the end. The client prints each one's median rate over its turns and the
 * median of the per-pair ratios: the bench's figures. Then it closes its side; the server notices, empties
 * the rings and waits for the next client, until SIGINT or SIGTERM, when it unlinks the object.
 *
 * Why C in turns, in the same processes: this machine's speed changes within milliseconds, so a C figure
 * measured at another moment says little. Where C's loops cannot run (an installed package has no
 * bench/c; no C compiler), the client says why and how to compare.
 */
import { setImmediate as yieldToEventLoop } from 'node:timers/promises'
import { ChannelTimeoutError, PeerGoneError } from '../errors.ts'
import { openChannel } from '../shm/open-channel.ts'
import type { RingChannel } from '../shm/channel.ts'
import { integerFlag, parseFlags, UsageError } from './args.ts'
import { formatCount } from './format.ts'
import {
  C_MESSAGE_BYTES, C_PINGPONG_BYTES, C_STREAM_BYTES, callTurns, consumeTurns, cpusAllowed, findCLoops, openCLoops, PINGPONG_CHUNK,
  produceTurns, serveTurns, STREAM_CHUNK, summary, turnSeconds, twoCpusBetween, WARM_UP_PAIRS, type CLoops,
} from './shm-turns.ts'

const HELP = `Usage:
  wirespeed shm server --name NAME [--bytes 1048576] [--reference auto|off|FILE]
  wirespeed shm client --name NAME [--count 5000000] [--size 11] [--batch 1] [--mode pingpong|stream]
                       [--reference auto|off|FILE] [--json]

The server copies each message it receives into a reply; the client measures roundtrips (pingpong) or
one-way messages (stream), and checks every message. NAME is a shared-memory object name such as /demo.
Both take turns with C's loops doing the same (bench/c/shm-loops.c) when both find them, messages are
11 bytes and the two have two CPUs between them (pin them apart, as with taskset -c 0 and taskset -c 1,
for steady figures): --reference auto builds them in a checkout of wirespeed with the machine's C compiler; FILE is a
built shm-loops.so; off runs the channel alone. Figures are medians over turns of ${formatCount(PINGPONG_CHUNK)} roundtrips
or ${formatCount(STREAM_CHUNK)} messages (--count is rounded to whole turns), as \`npm run bench -- shm\` gives them.
`

export async function run(args: string[]): Promise<number> {
  const [role, ...rest] = args
  const { values } = parseFlags(rest, {
    name: { type: 'string' }, bytes: { type: 'string' }, count: { type: 'string' }, size: { type: 'string' },
    batch: { type: 'string' }, mode: { type: 'string' }, reference: { type: 'string' }, json: { type: 'boolean' }, help: { type: 'boolean' },
  })
  if (values.help || role === '--help' || role === undefined) {
    process.stdout.write(HELP)
    return role === undefined ? 2 : 0
  }
  if (role !== 'server' && role !== 'client') throw new UsageError(`Unknown role ${JSON.stringify(role)}: expected server or client`)
  if (values.name === undefined) throw new UsageError('Missing --name: expected a shared-memory object name such as /demo')
  const reference = values.reference ?? 'auto'
  if (reference === '') throw new UsageError('Invalid --reference "": expected auto, off or the path of a built shm-loops.so')
  if (role === 'server') return await server(values.name, integerFlag('bytes', values.bytes, 1 << 20, 64, 1 << 30), reference)
  const mode = values.mode ?? 'pingpong'
  if (mode !== 'pingpong' && mode !== 'stream') throw new UsageError(`Invalid --mode ${JSON.stringify(mode)}: expected pingpong or stream`)
  return await client(values.name, {
    mode,
    count: integerFlag('count', values.count, 5_000_000, 1, 2 ** 31 - 1),
    size: integerFlag('size', values.size, C_MESSAGE_BYTES, 8, 1 << 20),
    batch: integerFlag('batch', values.batch, 1, 1, 1 << 20),
    reference,
    json: values.json ?? false,
  })
}

/** What a hello asks for. */
interface Session {
  mode: 'pingpong' | 'stream'
  pairs: number
  chunk: number
  size: number
  batch: number
  withC: boolean
}

function helloText(session: Session): string {
  return `${session.mode} ${session.pairs} ${session.chunk} ${session.size} ${session.batch} ${session.withC ? 1 : 0} ${cpusAllowed()}`
}

function parseHello(text: string): Session & { cpus: string } {
  const [mode, pairs, chunk, size, batch, withC, cpus = 'any'] = text.split(' ')
  const numbers = [pairs, chunk, size, batch].map(Number)
  if ((mode !== 'pingpong' && mode !== 'stream') || !numbers.every((n) => Number.isInteger(n) && n >= 1)) {
    throw new PeerGoneError(`Unexpected hello ${JSON.stringify(text.slice(0, 80))}: expected "mode pairs chunk size batch c cpus" from a client of this build`)
  }
  return { mode, pairs: numbers[0]!, chunk: numbers[1]!, size: numbers[2]!, batch: numbers[3]!, withC: withC === '1', cpus }
}

async function server(name: string, bytes: number, reference: string): Promise<number> {
  const found = findCLoops(reference, (line) => process.stderr.write(`wirespeed shm server: ${line}\n`))
  const channel = await openChannel({ name, bytes, create: true })
  let stopping = false
  const stop = () => (stopping = true)
  process.once('SIGINT', stop)
  process.once('SIGTERM', stop)
  process.stderr.write(
    `wirespeed shm: serving channel ${name} (${bytes} bytes each way); Ctrl-C to stop\n` +
      `  C's loops: ${'path' in found ? `${found.path} (turns with clients that ask)` : `not run: ${found.why}`}\n`,
  )
  const buffer = new Uint8Array(channel.messageBytesMax)
  try {
    while (!stopping) {
      try {
        const length = channel.receiveInto(buffer, 200)
        await serveSession(channel, name, parseHello(new TextDecoder().decode(buffer.subarray(0, length))), found, buffer)
      } catch (error) {
        if (error instanceof ChannelTimeoutError) {
          await yieldToEventLoop()
          continue
        }
        if (!(error instanceof PeerGoneError)) throw error
        channel.resetForNextPeer()
      }
    }
  } finally {
    channel.close()
  }
  return 0
}

/** One client's run: the answer to its hello, then the turns it asked for. */
async function serveSession(channel: RingChannel, name: string, session: Session & { cpus: string }, found: { path: string } | { why: string }, buffer: Uint8Array): Promise<void> {
  let c: CLoops | undefined
  let why = ''
  if (!session.withC) why = 'the client runs without them'
  else if (session.size !== C_MESSAGE_BYTES) why = `C's loops move ${C_MESSAGE_BYTES}-byte messages only`
  else if (!('path' in found)) why = `the server has none: ${found.why}`
  else if (!twoCpusBetween(session.cpus, cpusAllowed())) why = `the client (CPUs ${session.cpus}) and the server (CPUs ${cpusAllowed()}) share one CPU, and C's loops spin without yielding`
  else {
    try {
      c = await openCLoops(found.path, `${name}-c`, session.mode === 'pingpong' ? C_PINGPONG_BYTES : C_STREAM_BYTES, true)
    } catch (error) {
      why = `the server could not load them: ${(error as Error).message}`
    }
  }
  try {
    channel.send(new TextEncoder().encode(c ? 'ok 1' : `ok 0 ${why}`))
    if (session.mode === 'pingpong') serveTurns(channel, c, session.pairs, session.chunk, buffer)
    else consumeTurns(channel, c, session.pairs, session.chunk, session.size, buffer)
  } finally {
    c?.close()
  }
}

interface ClientOptions {
  mode: 'pingpong' | 'stream'
  count: number
  size: number
  batch: number
  reference: string
  json: boolean
}

async function client(name: string, options: ClientOptions): Promise<number> {
  const { mode, count, size, batch } = options
  const chunk = Math.min(mode === 'pingpong' ? PINGPONG_CHUNK : STREAM_CHUNK, count)
  const pairs = Math.max(1, Math.round(count / chunk))
  const found = size === C_MESSAGE_BYTES ? findCLoops(options.reference, (line) => process.stderr.write(`wirespeed shm client: ${line}\n`)) : { why: `C's loops move ${C_MESSAGE_BYTES}-byte messages only (--size ${C_MESSAGE_BYTES})` }
  const channel = await openChannel({ name, create: false, batch: mode === 'stream' ? batch : 1 })
  let c: CLoops | undefined
  try {
    if (size > channel.messageBytesMax) throw new UsageError(`Invalid --size ${size}: this channel carries at most ${channel.messageBytesMax} bytes`)
    channel.send(new TextEncoder().encode(helloText({ mode, pairs, chunk, size, batch, withC: 'path' in found })))
    channel.flush()
    const [ok, withC, ...why] = new TextDecoder().decode(channel.receive(5000)).split(' ')
    if (ok !== 'ok') throw new PeerGoneError(`Unexpected answer from the server of ${name}: expected "ok"`)
    // The server made C's mapping before its answer: open it now, or run without C.
    const cWhy = withC === '1' && 'path' in found ? '' : 'why' in found ? found.why : why.join(' ')
    if (withC === '1' && 'path' in found) c = await openCLoops(found.path, `${name}-c`, mode === 'pingpong' ? C_PINGPONG_BYTES : C_STREAM_BYTES, false)
    const run = mode === 'pingpong' ? callTurns(channel, c, pairs, chunk, size) : produceTurns(channel, c, pairs, chunk, size, batch)
    report(options, { pairs, chunk, ...run }, cWhy)
    return run.errors === 0 && run.cErrors === 0 ? 0 : 1
  } finally {
    c?.close()
    channel.close()
  }
}

/** Prints the bench's figures: each one's median rate over its turns, and the median of the per-pair ratios. */
function report(options: ClientOptions, run: { pairs: number; chunk: number; rates: ReturnType<typeof callTurns>['rates']; errors: number; cErrors: number }, cWhy: string): void {
  const { mode, size, batch } = options
  const figures = summary(run.rates)
  const count = run.pairs * run.chunk
  const seconds = turnSeconds(run.rates, run.chunk)
  const pingpong = mode === 'pingpong'
  const withC = figures.cPerSecond !== undefined
  if (options.json) {
    const c = withC ? { cPerSecond: figures.cPerSecond, ratio: figures.ratio, cErrors: run.cErrors } : { c: cWhy }
    const result = pingpong
      ? { mode, size, roundtrips: count, seconds, roundtripsPerSecond: figures.perSecond, messagesPerSecond: 2 * figures.perSecond, errors: run.errors, ...c }
      : { mode, size, batch, messages: count, seconds, messagesPerSecond: figures.perSecond, errors: run.errors, ...c }
    process.stdout.write(`${JSON.stringify(result)}\n`)
    return
  }
  const unit = pingpong ? 'roundtrips/s' : 'messages/s'
  const lines = [
    `${mode}: ${formatCount(count)} ${pingpong ? 'roundtrips' : 'messages'} of ${size} bytes${pingpong ? ', every reply checked byte for byte' : `, published every ${batch}, each checked`},` +
      ` in ${formatCount(run.pairs)} turn${run.pairs === 1 ? '' : 's'} of ${formatCount(run.chunk)} after ${WARM_UP_PAIRS} for warm-up (${seconds.toFixed(3)} s timed)`,
    `  wirespeed     ${formatCount(figures.perSecond).padStart(12)} ${unit} (median of its turns; ${formatCount(count / seconds)} over all of them, slow turns included)`,
    pingpong ? `                ${(1e9 / figures.perSecond).toFixed(0).padStart(12)} ns per roundtrip, ${(1e9 / figures.perSecond / 2).toFixed(1)} ns per message` : `                ${(1e9 / figures.perSecond).toFixed(1).padStart(12)} ns per message`,
  ]
  if (withC) {
    lines.push(
      `  C reference   ${formatCount(figures.cPerSecond!).padStart(12)} ${unit} (bench/c/shm-loops.c, in turns with it in the same two processes)`,
      `  wirespeed/C   ${`${figures.ratio!.toFixed(2)}x`.padStart(12)} (median of the per-pair ratios)`,
    )
  } else {
    lines.push(`  C reference   not run: ${cWhy}; to compare, run both sides from a checkout of wirespeed with a C compiler, or \`npm run bench -- shm\` there`)
  }
  lines.push(`  errors        ${String(run.errors).padStart(12)}${withC ? ` (C: ${run.cErrors})` : ''}`)
  process.stdout.write(`${lines.join('\n')}\n`)
}
