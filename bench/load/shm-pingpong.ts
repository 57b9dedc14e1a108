/*
 * Ping-pong between two processes (one pinned to each core), 11-byte messages, every reply checked byte
 * for byte: the wirespeed process channel and C's loop (bench/c/shm-loops.c) in the same two processes,
 * taking turns every CHUNK roundtrips. The turns and both loops are `wirespeed shm client`'s
 * (src/cli/shm-turns.ts), so the demo and this driver measure the same thing.
 *   node bench/load/shm-pingpong.ts COUNT [CHUNK] [LIBRARY]
 * COUNT roundtrips for each, after a warm-up; LIBRARY is the built shm-loops.so (without it, wirespeed
 * alone). Prints one JSON line: each one's median rate over its turns and the median of the per-pair ratios.
 */
import { fileURLToPath } from 'node:url'
import { openChannel } from '../../src/index.ts'
import { C_MESSAGE_BYTES, C_PINGPONG_BYTES, callTurns, openCLoops, PINGPONG_CHUNK, serveTurns, summary } from '../../src/cli/shm-turns.ts'
import { runSides } from '../lib/turns.ts'

async function open(name: string, library: string, serving: boolean) {
  const channel = await openChannel({ name, bytes: 1 << 20, create: serving })
  const c = library ? await openCLoops(library, `${name}-c`, C_PINGPONG_BYTES, serving) : undefined
  return { channel, c }
}

async function serve(name: string, pairs: number, chunk: number, library: string): Promise<void> {
  const { channel, c } = await open(name, library, true)
  process.stdout.write('ready\n')
  const buffer = new Uint8Array(64)
  serveTurns(channel, c, pairs, chunk, buffer)
  channel.receiveInto(buffer, 10_000) // the client's last word: it has read every reply
  channel.close()
  c?.close()
}

async function client(name: string, pairs: number, chunk: number, library: string): Promise<void> {
  const { channel, c } = await open(name, library, false)
  const { rates, errors, cErrors } = callTurns(channel, c, pairs, chunk, C_MESSAGE_BYTES)
  channel.send(new Uint8Array(1))
  channel.close()
  c?.close()
  process.stdout.write(`${JSON.stringify({ roundtrips: pairs * chunk, chunk, ...summary(rates), errors, ...(c ? { cErrors } : {}) })}\n`)
}

const [role, name, pairsText, chunkText, library = ''] = process.argv.slice(2)
if (role === 'serve') await serve(name!, Number(pairsText), Number(chunkText), library)
else if (role === 'client') await client(name!, Number(pairsText), Number(chunkText), library)
else {
  const count = Number(process.argv[2] ?? 1_000_000)
  const chunk = Number(process.argv[3] ?? PINGPONG_CHUNK)
  const pairs = Math.max(1, Math.round(count / chunk))
  await runSides(fileURLToPath(import.meta.url), 'serve', 'client', [`/wirespeed-pingpong-${process.pid}`, String(pairs), String(chunk), process.argv[4] ?? ''])
}
