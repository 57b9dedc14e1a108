/*
 * Ping-pong between two processes (one pinned to each core), 11-byte messages, every reply checked byte
 * for byte: the wirespeed process channel and C's loop (bench/c/shm-loops.c) in the same two processes,
 * taking turns every CHUNK roundtrips (why: bench/lib/turns.ts).
 *   node bench/load/shm-pingpong.ts COUNT [CHUNK] [LIBRARY]
 * COUNT roundtrips for each, after a warm-up; LIBRARY is the built shm-loops.so (without it, wirespeed
 * alone). Prints one JSON line: each one's median rate over its turns and the median of the per-pair ratios.
 */
import { fileURLToPath } from 'node:url'
import { openChannel, type Channel } from '../../src/index.ts'
import { cLoops, runSides, summary, takeTurns } from '../lib/turns.ts'

const SIZE = 11

// Each turn's loop is a function of its own, which V8 optimizes as a whole: a loop inside the long-running
// driver would run on-stack-replaced code, thrown away each time the loop is left (a slow stretch after each).

function serveTurn(channel: Channel, buffer: Uint8Array, chunk: number): void {
  for (let i = 0; i < chunk; i++) channel.send(buffer, channel.receiveInto(buffer, 10_000))
}

/** `chunk` roundtrips numbered after `sequence`, every byte of each reply checked. @returns the wrong replies */
function callTurn(channel: Channel, message: Uint8Array, reply: Uint8Array, sequence: number, chunk: number): number {
  const view = new DataView(message.buffer)
  // The first eight bytes compared as two words (as C's memcmp does, more or less), the rest one by one.
  const messageWords = new Int32Array(message.buffer, 0, 2)
  const replyWords = new Int32Array(reply.buffer, 0, 2)
  let errors = 0
  for (let i = 0; i < chunk; i++) {
    view.setUint32(0, ++sequence, true)
    channel.send(message)
    if (channel.receiveInto(reply, 10_000) !== SIZE || replyWords[0] !== messageWords[0] || replyWords[1] !== messageWords[1] || reply[8] !== message[8] || reply[9] !== message[9] || reply[10] !== message[10]) errors++
  }
  return errors
}

async function open(name: string, library: string, serving: boolean) {
  const channel = await openChannel({ name, bytes: 1 << 20, create: serving })
  const c = library ? await cLoops(library, `${name}-c`, 4096, serving) : undefined
  return { channel, c }
}

async function serve(name: string, pairs: number, chunk: number, library: string): Promise<void> {
  const { channel, c } = await open(name, library, true)
  process.stdout.write('ready\n')
  const buffer = new Uint8Array(64)
  takeTurns(pairs, chunk, c && ((from) => c.pingpongServe(from, chunk)), () => serveTurn(channel, buffer, chunk))
  channel.receiveInto(buffer, 10_000) // the client's last word: it has read every reply
  channel.close()
  c?.close()
}

async function client(name: string, pairs: number, chunk: number, library: string): Promise<void> {
  const { channel, c } = await open(name, library, false)
  const message = new Uint8Array(SIZE)
  const reply = new Uint8Array(SIZE)
  for (let i = 4; i < SIZE; i++) message[i] = i * 13
  let errors = 0
  let cErrors = 0
  let sequence = 0
  const rates = takeTurns(pairs, chunk, c && ((from) => (cErrors += c.pingpongCall(from, chunk))), () => {
    errors += callTurn(channel, message, reply, sequence, chunk)
    sequence += chunk
  })
  channel.send(message)
  channel.close()
  c?.close()
  process.stdout.write(`${JSON.stringify({ roundtrips: pairs * chunk, chunk, ...summary(rates), errors, ...(c ? { cErrors } : {}) })}\n`)
}

const [role, name, pairsText, chunkText, library = ''] = process.argv.slice(2)
if (role === 'serve') await serve(name!, Number(pairsText), Number(chunkText), library)
else if (role === 'client') await client(name!, Number(pairsText), Number(chunkText), library)
else {
  const count = Number(process.argv[2] ?? 1_000_000)
  const chunk = Number(process.argv[3] ?? 2000)
  const pairs = Math.max(1, Math.round(count / chunk))
  await runSides(fileURLToPath(import.meta.url), 'serve', 'client', [`/wirespeed-pingpong-${process.pid}`, String(pairs), String(chunk), process.argv[4] ?? ''])
}
