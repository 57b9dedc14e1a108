/*
 * `wirespeed tcp server --port N [--host H] [--framed]`: an echo server (raw bytes, or length-prefixed
 * frames with --framed, where a frame over the limit closes the connection).
 * `wirespeed tcp client --port N [--host H] [--connections 8] [--seconds 3] [--size 16] [--framed] [--json]`:
 * ping-pong with one message outstanding per connection, as the old project measured; prints roundtrips/s
 * (the median of one-second turns) and the latency percentiles (from up to a million samples). Beside it,
 * where it can be built (a checkout of wirespeed, a C compiler), the C client that `npm run bench -- tcp`
 * drives every server with (bench/c/tcp-client.c) takes turns with it against the same server, and the
 * median of the per-pair ratios says how close the demo's client comes: the figure is the server's only
 * when the client is not what saturates first.
 */
import { execFile } from 'node:child_process'
import { ConnectError, FrameError } from '../errors.ts'
import { FrameDecoder, writeFrame } from '../tcp/framing.ts'
import type { Connection, Handlers } from '../tcp/types.ts'
import { connect, listen } from '../tcp/listen.ts'
import { integerFlag, parseFlags, UsageError, withPortFlag } from './args.ts'
import { findCReference } from './build-c.ts'
import { formatCount } from './format.ts'
import { median } from './median.ts'
import { untilSignal } from './until-signal.ts'

const HELP = `Usage:
  wirespeed tcp server --port N [--host 127.0.0.1] [--framed] [--frame-max 1048576]
  wirespeed tcp client --port N [--host 127.0.0.1] [--connections 8] [--seconds 3] [--size 16] [--framed]
                       [--reference auto|off|FILE] [--json]
  (--path PATH instead of --port uses a Unix socket)

The client takes one-second turns with the C client of the benchmarks (bench/c/tcp-client.c) against the
same server: --reference auto builds it in a checkout of wirespeed with the machine's C compiler; FILE is a
built tcp-client; off runs the client alone. It talks to 127.0.0.1 (or the Unix socket) only, in raw mode.
`
const SAMPLES_MAX = 1 << 20
/** A turn of each client, and the untimed start (the C client warms up as long inside its turn). */
const TURN_MS = 1000
const WARM_UP_MS = 300
/** What bench/c/tcp-client.c takes (CONNECTIONS_MAX, SIZE_MAX_BYTES). */
const C_CONNECTIONS_MAX = 1024
const C_SIZE_MAX = 65536

export async function run(args: string[]): Promise<number> {
  const [role, ...rest] = args
  const { values } = parseFlags(rest, {
    port: { type: 'string' }, host: { type: 'string' }, path: { type: 'string' }, framed: { type: 'boolean' }, 'frame-max': { type: 'string' },
    connections: { type: 'string' }, seconds: { type: 'string' }, size: { type: 'string' }, reference: { type: 'string' }, json: { type: 'boolean' },
    help: { type: 'boolean' },
  })
  if (values.help || role === undefined || role === '--help') {
    process.stdout.write(HELP)
    return role === undefined ? 2 : 0
  }
  if (role !== 'server' && role !== 'client') throw new UsageError(`Unknown role ${JSON.stringify(role)}: expected server or client`)
  if (values.port === undefined && values.path === undefined) throw new UsageError('Missing --port (or --path for a Unix socket)')
  const host = values.host ?? '127.0.0.1'
  const framed = values.framed ?? false
  if (role === 'server') {
    const port = integerFlag('port', values.port, 0, 0, 65535)
    return await server(host, port, values.path, framed, integerFlag('frame-max', values['frame-max'], 1 << 20, 0, 2 ** 32 - 1))
  }
  return await client({
    host,
    port: values.path === undefined ? integerFlag('port', values.port, 0, 1, 65535) : 0,
    path: values.path,
    framed,
    connections: integerFlag('connections', values.connections, 8, 1, 10_000),
    seconds: integerFlag('seconds', values.seconds, 3, 1, 3600),
    size: integerFlag('size', values.size, 16, 1, 1 << 24),
    reference: values.reference ?? 'auto',
    json: values.json ?? false,
  })
}

const rawEcho: Handlers = {
  data(connection, bytes) {
    connection.write(bytes)
  },
}

function framedEcho(frameBytesMax: number): Handlers<FrameDecoder> {
  return {
    open(connection) {
      connection.data = new FrameDecoder(frameBytesMax)
    },
    data(connection, bytes) {
      try {
        connection.data.push(bytes, (message) => writeFrame(connection, message))
      } catch (error) {
        if (!(error instanceof FrameError)) throw error
        connection.destroy()
      }
    },
  }
}

async function server(host: string, port: number, path: string | undefined, framed: boolean, frameBytesMax: number): Promise<number> {
  const listener = await listen({ ...(path === undefined ? { host, port } : { path }), handlers: framed ? framedEcho(frameBytesMax) : (rawEcho as Handlers<unknown>) }).catch(path === undefined ? withPortFlag(host, port) : undefined)
  // The signals are caught before the line is printed: whoever waits for the line may stop us at once.
  const stopped = untilSignal()
  process.stdout.write(`wirespeed tcp: ${framed ? 'framed' : 'raw'} echo on ${path ?? `${listener.host}:${listener.port}`} (${listener.backend} backend: ${listener.backendReason})\n`)
  await stopped
  for (const connection of listener.connections) connection.destroy()
  await listener.close()
  return 0
}

interface ClientOptions {
  host: string
  port: number
  path: string | undefined
  framed: boolean
  connections: number
  seconds: number
  size: number
  reference: string
  json: boolean
}

interface Pinger {
  owed: number
  sentAt: number
  decoder: FrameDecoder | null
}

/**
 * The ping-pong: `connections` connections, one message outstanding on each, in turns of TURN_MS (one for
 * each --seconds) after an untimed warm-up; with C's client, its turns and the channel's alternate, the order
 * swapped every pair, against the same server: this machine's speed changes from moment to moment, and only
 * turns taken at the same moments compare. Between turns the outstanding messages are answered, so that each
 * side finds the server idle.
 */
async function client(options: ClientOptions): Promise<number> {
  const c = options.reference === 'off'
    ? { why: 'turned off (--reference off)' }
    : options.framed
    ? { why: 'it sends raw bytes, not frames (run the server without --framed)' }
    : options.path === undefined && options.host !== '127.0.0.1'
      ? { why: 'it talks to 127.0.0.1 (or a Unix socket) only' }
    : options.size > C_SIZE_MAX || options.connections > C_CONNECTIONS_MAX
      ? { why: `it takes at most ${C_CONNECTIONS_MAX} connections and ${C_SIZE_MAX}-byte messages` }
      : findCReference(options.reference, 'tcp-client.c', 'tcp-client', [], (line) => process.stderr.write(`wirespeed tcp client: ${line}\n`))
  const message = Buffer.alloc(options.size, 0x61)
  const samples = new Float64Array(SAMPLES_MAX)
  let sampled = 0
  let roundtrips = 0
  let outstanding = 0
  let running = false
  let timing = false
  let drained: (() => void) | undefined
  const send = (connection: Connection<Pinger>) => {
    outstanding++
    connection.data.sentAt = performance.now()
    connection.data.owed = options.size
    if (options.framed) writeFrame(connection, message)
    else connection.write(message)
  }
  const done = (connection: Connection<Pinger>) => {
    outstanding--
    if (timing) {
      samples[sampled++ & (SAMPLES_MAX - 1)] = performance.now() - connection.data.sentAt
      roundtrips++
    }
    if (running) send(connection)
    else if (outstanding === 0) drained?.()
  }
  const handlers: Handlers<Pinger> = {
    data(connection, bytes) {
      const state = connection.data
      if (state.decoder) state.decoder.push(bytes, () => done(connection))
      else {
        state.owed -= bytes.length
        if (state.owed <= 0) done(connection)
      }
    },
  }
  const open: Connection<Pinger>[] = []
  for (let i = 0; i < options.connections; i++) {
    const connection = await connect<Pinger>({ host: options.host, port: options.port, path: options.path, handlers })
    connection.data = { owed: 0, sentAt: 0, decoder: options.framed ? new FrameDecoder(options.size) : null }
    open.push(connection)
  }
  /** One turn of the channel's client: its rate, timed turns only. */
  const turn = async (ms: number, timed: boolean): Promise<number> => {
    const before = roundtrips
    running = true
    timing = timed
    const started = performance.now()
    for (const connection of open) send(connection)
    await new Promise((resolve) => setTimeout(resolve, ms))
    running = false
    const seconds = (performance.now() - started) / 1000
    timing = false
    await new Promise<void>((resolve) => (outstanding === 0 ? resolve() : (drained = resolve)))
    return (roundtrips - before) / seconds
  }
  const target = options.path === undefined ? String(options.port) : `unix:${options.path}`
  const rates: Record<'C' | 'wirespeed', number[]> = { C: [], wirespeed: [] }
  const p50: number[] = []
  const p99: number[] = []
  try {
    await turn(WARM_UP_MS, false)
    for (let pair = 0; pair < options.seconds; pair++) {
      for (const side of 'path' in c ? (pair % 2 === 0 ? ['C', 'wirespeed'] : ['wirespeed', 'C']) : ['wirespeed']) {
        if (side === 'wirespeed') rates.wirespeed.push(await turn(TURN_MS, true))
        else {
          const result = await runCClient((c as { path: string }).path, [target, String(options.connections), String(TURN_MS / 1000), String(options.size)])
          rates.C.push(result.roundtripsPerSecond)
          p50.push(result.p50Us)
          p99.push(result.p99Us)
        }
      }
    }
  } finally {
    for (const connection of open) connection.destroy()
  }
  const sorted = samples.slice(0, Math.min(sampled, SAMPLES_MAX)).sort()
  const percentile = (p: number) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]! * 1000 : NaN)
  const seconds = (options.seconds * TURN_MS) / 1000
  const result = { roundtrips, seconds, roundtripsPerSecond: median(rates.wirespeed), p50Us: percentile(0.5), p99Us: percentile(0.99) }
  const cFigures = 'path' in c
    ? { cRoundtripsPerSecond: median(rates.C), ratio: median(rates.wirespeed.map((rate, pair) => rate / rates.C[pair]!)), cP50Us: median(p50), cP99Us: median(p99) }
    : undefined
  if (options.json) process.stdout.write(`${JSON.stringify({ ...result, ...(cFigures ?? { c: (c as { why: string }).why }) })}\n`)
  else {
    process.stdout.write(
      `${formatCount(roundtrips)} roundtrips of ${options.size} bytes on ${options.connections} connection${options.connections === 1 ? '' : 's'} in ${options.seconds} turn${options.seconds === 1 ? '' : 's'} of ${TURN_MS / 1000} s\n` +
        `  wirespeed     ${formatCount(result.roundtripsPerSecond).padStart(10)} roundtrips/s (median of its turns), latency p50 ${result.p50Us.toFixed(1)} µs, p99 ${result.p99Us.toFixed(1)} µs\n` +
        (cFigures
          ? `  C client      ${formatCount(cFigures.cRoundtripsPerSecond).padStart(10)} roundtrips/s (bench/c/tcp-client.c, in turns with it against the same server), p50 ${cFigures.cP50Us.toFixed(1)} µs, p99 ${cFigures.cP99Us.toFixed(1)} µs\n` +
            `  wirespeed/C   ${`${cFigures.ratio.toFixed(2)}x`.padStart(10)} (median of the per-pair ratios)\n`
          : `  C client      not run: ${(c as { why: string }).why}; to compare, run the client from a checkout of wirespeed with a C compiler, or \`npm run bench -- tcp\` there\n`),
    )
  }
  return 0
}

/** One turn of the C client (bench/c/tcp-client.c): its JSON line. */
function runCClient(path: string, args: string[]): Promise<{ roundtripsPerSecond: number; p50Us: number; p99Us: number }> {
  return new Promise((resolve, reject) => {
    execFile(path, args, { timeout: 60_000 }, (error, stdout, stderr) => {
      if (error) reject(new ConnectError(`The C client (${path}) failed: ${stderr.trim() || error.message}`, 'EC_CLIENT'))
      else resolve(JSON.parse(stdout) as { roundtripsPerSecond: number; p50Us: number; p99Us: number })
    })
  })
}
