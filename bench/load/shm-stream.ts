/*
 * One-way streaming between two processes (the consumer pinned to core 0, the producer to core 1): 11-byte
 * messages, each carrying its sequence number, which the consumer checks; published every BATCH messages.
 * The wirespeed process channel and C's loop (bench/c/shm-loops.c) in the same two processes, taking turns
 * every CHUNK messages; a turn ends when the consumer has read its last message (the channel's consumer
 * answers with a word, C's stores a count the producer waits for). The turns and both loops are
 * `wirespeed shm client --mode stream`'s (src/cli/shm-turns.ts), so the demo and this driver measure the same.
 *   node bench/load/shm-stream.ts COUNT BATCH [CHUNK] [LIBRARY]
 * COUNT messages for each, after a warm-up; LIBRARY is the built shm-loops.so (without it, wirespeed alone).
 * Prints one JSON line: each one's median rate over its turns and the median of the per-pair ratios.
 */
import { fileURLToPath } from 'node:url'
import { openChannel } from '../../src/index.ts'
import { C_MESSAGE_BYTES, C_STREAM_BYTES, consumeTurns, openCLoops, produceTurns, STREAM_CHUNK, summary } from '../../src/cli/shm-turns.ts'
import { runSides } from '../lib/turns.ts'

async function consume(name: string, pairs: number, chunk: number, library: string): Promise<void> {
  const channel = await openChannel({ name, bytes: 1 << 20, create: true })
  const c = library ? await openCLoops(library, `${name}-c`, C_STREAM_BYTES, true) : undefined
  process.stdout.write('ready\n')
  const buffer = new Uint8Array(64)
  consumeTurns(channel, c, pairs, chunk, C_MESSAGE_BYTES, buffer)
  channel.receiveInto(buffer, 10_000) // the producer's last word: it has read the errors
  channel.close()
  c?.close()
}

async function produce(name: string, pairs: number, chunk: number, library: string, batch: number): Promise<void> {
  const channel = await openChannel({ name, create: false, batch })
  const c = library ? await openCLoops(library, `${name}-c`, C_STREAM_BYTES, false) : undefined
  const { rates, errors, cErrors } = produceTurns(channel, c, pairs, chunk, C_MESSAGE_BYTES, batch)
  channel.send(new Uint8Array(1))
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
  const chunk = Number(process.argv[4] ?? STREAM_CHUNK)
  const pairs = Math.max(1, Math.round(count / chunk))
  await runSides(fileURLToPath(import.meta.url), 'consume', 'produce', [`/wirespeed-stream-${process.pid}`, String(pairs), String(chunk), process.argv[5] ?? '', String(batch)])
}
