/*
 * One-way streaming between two processes (the consumer pinned to core 0, the producer to core 1): 11-byte
 * messages, each carrying its sequence number, which the consumer checks; published every BATCH messages.
 * The wirespeed process channel and C's loop (bench/c/shm-loops.c) in the same two processes, taking turns
 * every CHUNK messages (why: bench/lib/turns.ts); a turn ends when the consumer has read its last message
 * (the channel's consumer answers with a word, C's stores a count the producer waits for).
 *   node bench/load/shm-stream.ts COUNT BATCH [CHUNK] [LIBRARY]
 * COUNT messages for each, after a warm-up; LIBRARY is the built shm-loops.so (without it, wirespeed alone).
 * Prints one JSON line: each one's median rate over its turns and the median of the per-pair ratios.
 */
import { fileURLToPath } from 'node:url'
import { openChannel, type Channel } from '../../src/index.ts'
import { cLoops, runSides, summary, takeTurns } from '../lib/turns.ts'

/** The C stream's memory: three control lines and a 1 MiB ring (struct stream_ring), in whole pages. */
const C_STREAM_BYTES = (1 << 20) + 4096

// Each turn's loop is a function of its own, which V8 optimizes as a whole: a loop inside the long-running
// driver would run on-stack-replaced code, thrown away each time the loop is left (a slow stretch after each).

/** Reads `chunk` messages, checking their numbers after `sequence`. @returns the wrong ones */
function consumeTurn(channel: Channel, buffer: Uint8Array, sequence: number, chunk: number): number {
  let errors = 0
  for (let i = 0; i < chunk; i++) {
    channel.receiveInto(buffer, 10_000)
    if ((buffer[0]! | (buffer[1]! << 8) | (buffer[2]! << 16) | (buffer[3]! << 24)) !== (++sequence | 0)) errors++
  }
  return errors
}

/** Sends `chunk` messages numbered after `sequence`, and publishes the last batch. */
function produceTurn(channel: Channel, message: Uint8Array, view: DataView, sequence: number, chunk: number): void {
  for (let i = 0; i < chunk; i++) {
    view.setUint32(0, ++sequence, true)
    channel.send(message)
  }
  channel.flush()
}

async function consume(name: string, pairs: number, chunk: number, library: string): Promise<void> {
  const channel = await openChannel({ name, bytes: 1 << 20, create: true })
  const c = library ? await cLoops(library, `${name}-c`, C_STREAM_BYTES, true) : undefined
  process.stdout.write('ready\n')
  const buffer = new Uint8Array(64)
  const done = new Uint8Array(8)
  let errors = 0
  let cErrors = 0
  let sequence = 0
  takeTurns(pairs, chunk, c && ((from) => (cErrors += c.streamConsume(from, chunk))), () => {
    errors += consumeTurn(channel, buffer, sequence, chunk)
    sequence += chunk
    channel.send(done) // the turn's end
  })
  const doneView = new DataView(done.buffer)
  doneView.setUint32(0, errors, true)
  doneView.setUint32(4, cErrors, true)
  channel.send(done) // the errors
  channel.receiveInto(buffer, 10_000) // the producer's last word: it has read them
  channel.close()
  c?.close()
}

async function produce(name: string, pairs: number, chunk: number, library: string, batch: number): Promise<void> {
  const channel = await openChannel({ name, create: false, batch })
  const c = library ? await cLoops(library, `${name}-c`, C_STREAM_BYTES, false) : undefined
  const message = new Uint8Array(11)
  const view = new DataView(message.buffer)
  const done = new Uint8Array(8)
  let sequence = 0
  const rates = takeTurns(pairs, chunk, c && ((from) => c.streamProduce(from, chunk, batch)), () => {
    produceTurn(channel, message, view, sequence, chunk)
    sequence += chunk
    channel.receiveInto(done, 10_000) // the consumer has read them all
  })
  channel.receiveInto(done, 10_000)
  const doneView = new DataView(done.buffer)
  const errors = doneView.getUint32(0, true)
  const cErrors = doneView.getUint32(4, true)
  channel.send(message)
  channel.flush()
  channel.close()
  c?.close()
  process.stdout.write(`${JSON.stringify({ messages: pairs * chunk, chunk, batch, ...summary(rates), errors, ...(c ? { cErrors } : {}) })}\n`)
}

const [role, name, pairsText, chunkText, library = '', batchText = '1'] = process.argv.slice(2)
if (role === 'consume') await consume(name!, Number(pairsText), Number(chunkText), library)
else if (role === 'produce') await produce(name!, Number(pairsText), Number(chunkText), library, Number(batchText))
else {
  const count = Number(process.argv[2] ?? 10_000_000)
  const batch = Number(process.argv[3] ?? 1)
  const chunk = Number(process.argv[4] ?? 50_000)
  const pairs = Math.max(1, Math.round(count / chunk))
  await runSides(fileURLToPath(import.meta.url), 'consume', 'produce', [`/wirespeed-stream-${process.pid}`, String(pairs), String(chunk), process.argv[5] ?? '', String(batch)])
}
