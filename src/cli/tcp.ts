/*
 * `wirespeed tcp server --port N [--host H] [--framed]`: an echo server (raw bytes, or length-prefixed
 * frames with --framed, where a frame over the limit closes the connection).
 * `wirespeed tcp client --port N [--host H] [--connections 8] [--seconds 3] [--size 16] [--framed] [--json]`:
 * ping-pong with one message outstanding per connection, as the old project measured; prints roundtrips/s
 * and the latency percentiles (from up to a million samples).
 */
import { FrameError } from '../errors.ts'
import { FrameDecoder, writeFrame } from '../tcp/framing.ts'
import type { Connection, Handlers } from '../tcp/types.ts'
import { connect, listen } from '../tcp/listen.ts'
import { integerFlag, parseFlags, UsageError } from './args.ts'
import { formatCount } from './format.ts'

const HELP = `Usage:
  wirespeed tcp server --port N [--host 127.0.0.1] [--framed] [--frame-max 1048576]
  wirespeed tcp client --port N [--host 127.0.0.1] [--connections 8] [--seconds 3] [--size 16] [--framed] [--json]
  (--path PATH instead of --port uses a Unix socket)
`
const SAMPLES_MAX = 1 << 20

export async function run(args: string[]): Promise<number> {
  const [role, ...rest] = args
  const { values } = parseFlags(rest, {
    port: { type: 'string' }, host: { type: 'string' }, path: { type: 'string' }, framed: { type: 'boolean' }, 'frame-max': { type: 'string' },
    connections: { type: 'string' }, seconds: { type: 'string' }, size: { type: 'string' }, json: { type: 'boolean' }, help: { type: 'boolean' },
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
  const listener = await listen({ host, port, path, handlers: framed ? framedEcho(frameBytesMax) : (rawEcho as Handlers<unknown>) })
  process.stdout.write(`wirespeed tcp: ${framed ? 'framed' : 'raw'} echo on ${path ?? `${listener.host}:${listener.port}`} (${listener.backend} backend: ${listener.backendReason})\n`)
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve)
    process.once('SIGTERM', resolve)
  })
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
  json: boolean
}

interface Pinger {
  owed: number
  sentAt: number
  decoder: FrameDecoder | null
}

async function client(options: ClientOptions): Promise<number> {
  const message = Buffer.alloc(options.size, 0x61)
  const samples = new Float64Array(SAMPLES_MAX)
  let roundtrips = 0
  let running = true
  const send = (connection: Connection<Pinger>) => {
    connection.data.sentAt = performance.now()
    connection.data.owed = options.size
    if (options.framed) writeFrame(connection, message)
    else connection.write(message)
  }
  const done = (connection: Connection<Pinger>) => {
    samples[roundtrips++ & (SAMPLES_MAX - 1)] = performance.now() - connection.data.sentAt
    if (running) send(connection)
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
  const started = performance.now()
  for (const connection of open) send(connection)
  await new Promise((resolve) => setTimeout(resolve, options.seconds * 1000))
  running = false
  const seconds = (performance.now() - started) / 1000
  const counted = roundtrips
  for (const connection of open) connection.destroy()
  const sorted = samples.slice(0, Math.min(counted, SAMPLES_MAX)).sort()
  const percentile = (p: number) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]! * 1000 : NaN)
  const result = { roundtrips: counted, seconds, roundtripsPerSecond: counted / seconds, p50Us: percentile(0.5), p99Us: percentile(0.99) }
  if (options.json) process.stdout.write(`${JSON.stringify(result)}\n`)
  else {
    process.stdout.write(
      `${formatCount(counted)} roundtrips of ${options.size} bytes on ${options.connections} connections in ${seconds.toFixed(2)} s\n` +
        `  roundtrips/s  ${formatCount(result.roundtripsPerSecond)}\n` +
        `  latency       p50 ${result.p50Us.toFixed(1)} µs, p99 ${result.p99Us.toFixed(1)} µs\n`,
    )
  }
  return 0
}
