/*
 * `wirespeed shm server --name NAME` and `wirespeed shm client --name NAME [...]`: the old AppSharedMemory
 * demo, two separate processes talking through shared memory.
 *
 * Protocol: the client opens the channel and sends a hello ("mode count size"), the server answers "ok".
 * In pingpong mode the client sends a message (with its sequence number), the server copies it into its
 * reply, and the client checks that the reply is the message, byte for byte, before sending the next. In stream mode the client sends
 * `count` messages in batches, the server checks each and answers "received,errors" at the end. Then the
 * client closes its side; the server notices, empties the rings and waits for the next client, until
 * SIGINT or SIGTERM, when it unlinks the object.
 */
import { setImmediate as yieldToEventLoop } from 'node:timers/promises'
import { ChannelTimeoutError, PeerGoneError } from '../errors.ts'
import { openChannel } from '../shm/open-channel.ts'
import { integerFlag, parseFlags, UsageError } from './args.ts'
import { formatCount } from './format.ts'

const HELP = `Usage:
  wirespeed shm server --name NAME [--bytes 1048576]
  wirespeed shm client --name NAME [--count 5000000] [--size 11] [--batch 1] [--mode pingpong|stream] [--json]

The server copies each message it receives into a reply; the client measures roundtrips (pingpong) or
one-way messages (stream), and checks every message. NAME is a shared-memory object name such as /demo.
`

export async function run(args: string[]): Promise<number> {
  const [role, ...rest] = args
  const { values } = parseFlags(rest, {
    name: { type: 'string' }, bytes: { type: 'string' }, count: { type: 'string' }, size: { type: 'string' },
    batch: { type: 'string' }, mode: { type: 'string' }, json: { type: 'boolean' }, help: { type: 'boolean' },
  })
  if (values.help || role === '--help' || role === undefined) {
    process.stdout.write(HELP)
    return role === undefined ? 2 : 0
  }
  if (role !== 'server' && role !== 'client') throw new UsageError(`Unknown role ${JSON.stringify(role)}: expected server or client`)
  if (values.name === undefined) throw new UsageError('Missing --name: expected a shared-memory object name such as /demo')
  if (role === 'server') return await server(values.name, integerFlag('bytes', values.bytes, 1 << 20, 64, 1 << 30))
  const mode = values.mode ?? 'pingpong'
  if (mode !== 'pingpong' && mode !== 'stream') throw new UsageError(`Invalid --mode ${JSON.stringify(mode)}: expected pingpong or stream`)
  return await client(values.name, {
    mode,
    count: integerFlag('count', values.count, 5_000_000, 1, 2 ** 31 - 1),
    size: integerFlag('size', values.size, 11, 8, 1 << 20),
    batch: integerFlag('batch', values.batch, 1, 1, 1 << 20),
    json: values.json ?? false,
  })
}

async function server(name: string, bytes: number): Promise<number> {
  const channel = await openChannel({ name, bytes, create: true })
  let stopping = false
  const stop = () => (stopping = true)
  process.once('SIGINT', stop)
  process.once('SIGTERM', stop)
  process.stderr.write(`wirespeed shm: serving channel ${name} (${bytes} bytes each way); Ctrl-C to stop\n`)
  const buffer = new Uint8Array(channel.messageBytesMax)
  try {
    while (!stopping) {
      try {
        const length = channel.receiveInto(buffer, 200)
        const [mode, count] = new TextDecoder().decode(buffer.subarray(0, length)).split(' ')
        channel.send(new TextEncoder().encode('ok'))
        if (mode === 'pingpong') {
          // Answer until the client leaves; return to the event loop when idle so signals are seen.
          for (;;) {
            let n: number
            try {
              n = channel.receiveInto(buffer, 200)
            } catch (error) {
              if (!(error instanceof ChannelTimeoutError)) throw error
              await yieldToEventLoop()
              if (stopping) break
              continue
            }
            channel.send(buffer, n)
          }
        } else {
          let errors = 0
          const view = new DataView(buffer.buffer)
          const total = Number(count)
          for (let i = 0; i < total; i++) {
            const n = channel.receiveInto(buffer, 10_000)
            if (view.getUint32(0, true) !== i || view.getUint32(n - 4, true) !== checksum(buffer, n - 4)) errors++
          }
          channel.send(new TextEncoder().encode(`${total},${errors}`))
          channel.receiveInto(buffer, 10_000) // waits for the client to leave
        }
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

interface ClientOptions {
  mode: 'pingpong' | 'stream'
  count: number
  size: number
  batch: number
  json: boolean
}

async function client(name: string, options: ClientOptions): Promise<number> {
  const { mode, count, size, batch } = options
  const channel = await openChannel({ name, create: false, batch: mode === 'stream' ? batch : 1 })
  try {
    if (size > channel.messageBytesMax) throw new UsageError(`Invalid --size ${size}: this channel carries at most ${channel.messageBytesMax} bytes`)
    channel.send(new TextEncoder().encode(`${mode} ${count} ${size}`))
    channel.flush()
    channel.receive(5000)
    const message = new Uint8Array(size)
    const reply = new Uint8Array(size)
    const view = new DataView(message.buffer)
    for (let i = 4; i < size - 4; i++) message[i] = (i * 13) & 0xff
    let errors = 0
    const started = performance.now()
    if (mode === 'pingpong') {
      // The reply must be the message, byte for byte (each carries its sequence number).
      for (let i = 0; i < count; i++) {
        view.setUint32(0, i, true)
        channel.send(message)
        const n = channel.receiveInto(reply, 10_000)
        if (n !== size || !sameBytes(reply, message)) errors++
      }
    } else {
      for (let i = 0; i < count; i++) {
        view.setUint32(0, i, true)
        view.setUint32(size - 4, checksum(message, size - 4), true)
        channel.send(message)
      }
      channel.flush()
    }
    let seconds = (performance.now() - started) / 1000
    if (mode === 'stream') {
      const [, serverErrors] = new TextDecoder().decode(channel.receive(30_000)).split(',')
      seconds = (performance.now() - started) / 1000
      errors += Number(serverErrors)
    }
    const roundtripsPerSecond = count / seconds
    const messagesPerSecond = mode === 'pingpong' ? 2 * roundtripsPerSecond : roundtripsPerSecond
    if (options.json) {
      process.stdout.write(`${JSON.stringify({ mode, size, batch, roundtrips: count, seconds, roundtripsPerSecond, messagesPerSecond, errors })}\n`)
    } else {
      const what = mode === 'pingpong' ? 'roundtrips' : 'messages'
      process.stdout.write(
        `${mode}: ${formatCount(count)} ${what} of ${size} bytes in ${seconds.toFixed(3)} s\n` +
          `  loops/s       ${formatCount(roundtripsPerSecond)}\n` +
          `  messages/s    ${formatCount(messagesPerSecond)}\n` +
          `  ns/message    ${(1e9 / messagesPerSecond).toFixed(1)}\n` +
          (mode === 'pingpong' ? `  latency       ${(1e9 / roundtripsPerSecond).toFixed(0)} ns per roundtrip\n` : '') +
          `  errors        ${errors}\n`,
      )
    }
    return errors === 0 ? 0 : 1
  } finally {
    channel.close()
  }
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false
  return true
}

/** FNV-1a over bytes [0, end): the integrity check of each streamed message. */
function checksum(bytes: Uint8Array, end: number): number {
  let hash = 0x811c9dc5
  for (let i = 0; i < end; i++) hash = Math.imul(hash ^ bytes[i]!, 0x01000193)
  return hash >>> 0
}
