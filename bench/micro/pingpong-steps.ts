/*
 * Micro-benchmark: where a thread ping-pong's time goes, step by step from C's protocol to RingChannel.
 * Two threads; the main one alternates the steps in chunks of 20,000 roundtrips (so that every step sees
 * the same machine: this one's speed swings within seconds) and prints each step's median per-chunk rate
 * relative to the first:
 *   slots    C's protocol (bench/c/shm-reference.c): one fixed slot and one flag word each way
 *   packed   the same, with 11 bytes packed into and out of Uint8Arrays as a Ring does
 *   moving   records (length word + payload) at moving positions, as in a Ring, code inline
 *   ring     two Rings (src/shm/ring.ts)
 *   channel  a thread RingChannel (src/shm/channel.ts)
 *   node bench/micro/pingpong-steps.ts [chunks]       (run it with taskset -c 0,1)
 */
import { isMainThread, Worker, workerData } from 'node:worker_threads'
import { attachChannel, threadChannel } from '../../src/shm/channel.ts'
import { threadSleeper } from '../../src/shm/memory.ts'
import { Ring, ringBytes } from '../../src/shm/ring.ts'
import { pack, unpack } from './packed-message.ts'

const CHUNK = 20_000
/** Both threads run the same number of chunks: a worker's process.argv does not carry the main one's arguments. */
const CHUNKS = isMainThread ? Number(process.argv[2] ?? 40) : (workerData as Shared).chunks
const CAPACITY = 1 << 16
const STEPS = ['slots', 'packed', 'moving', 'ring', 'channel'] as const
const SLOT = 64 // words of the slot area: flags at 0 and 16, request at 32, reply at 48

interface Shared {
  chunks: number
  slots: SharedArrayBuffer
  moving: SharedArrayBuffer
  rings: SharedArrayBuffer
  channel: SharedArrayBuffer
}

if (isMainThread) {
  const shared: Shared = { chunks: CHUNKS, slots: new SharedArrayBuffer(4 * SLOT), moving: new SharedArrayBuffer(2 * ringBytes(CAPACITY)), rings: new SharedArrayBuffer(2 * ringBytes(CAPACITY)), channel: new SharedArrayBuffer(0) }
  const channel = threadChannel(CAPACITY, 1)
  shared.channel = channel.memory as SharedArrayBuffer
  const flags = new Int32Array(shared.slots)
  const a = new Int32Array(shared.moving, 0, ringBytes(CAPACITY) / 4)
  const b = new Int32Array(shared.moving, ringBytes(CAPACITY), ringBytes(CAPACITY) / 4)
  const worker = new Worker(new URL(import.meta.url), { workerData: shared })
  await new Promise((resolve) => worker.once('online', resolve))
  const message = new Uint8Array(11)
  const reply = new Uint8Array(64)
  const times = new Map<string, number[]>(STEPS.map((step) => [step, []]))
  let seq = 0
  let out: Ring | undefined
  let back: Ring | undefined
  for (let chunk = 0; chunk < CHUNKS; chunk++) {
    for (const step of STEPS) {
      const started = performance.now()
      for (let i = 0; i < CHUNK; i++) {
        seq++
        message[0] = seq
        if (step === 'slots' || step === 'packed') {
          if (step === 'slots') flags[32] = flags[33] = flags[34] = seq
          else pack(message, flags, 32)
          flags[0] = seq
          while (Atomics.load(flags, 16) !== seq) {}
          if (step === 'slots' ? flags[48] !== seq : (unpack(flags, 48, reply), reply[0] !== message[0])) throw new Error(`${step}: wrong reply`)
        } else if (step === 'moving') {
          const at = 48 + ((seq * 4) & (CAPACITY / 4 - 1))
          a[at] = 11
          pack(message, a, at + 1)
          a[0] = seq
          while (Atomics.load(b, 0) !== seq) {}
          unpack(b, at + 1, reply)
          if (b[at] !== 11 || reply[0] !== message[0]) throw new Error('moving: wrong reply')
        } else if (step === 'ring') {
          out ??= new Ring(shared.rings, 0, CAPACITY)
          back ??= new Ring(shared.rings, ringBytes(CAPACITY), CAPACITY)
          out.send(message)
          while (back.receiveInto(reply) < 0) {}
          if (reply[0] !== message[0]) throw new Error('ring: wrong reply')
        } else {
          channel.send(message)
          channel.receiveInto(reply)
          if (reply[0] !== message[0]) throw new Error('channel: wrong reply')
        }
      }
      times.get(step)!.push(performance.now() - started)
    }
  }
  const median = (values: number[]) => [...values].sort((x, y) => x - y)[values.length >> 1]!
  const first = times.get('slots')!
  console.log(`slots (C's protocol in JS): ${(CHUNK / median(first) / 1000).toFixed(2)} M roundtrips/s`)
  for (const step of STEPS.slice(1)) console.log(`${step.padEnd(8)} ${median(times.get(step)!.map((t, i) => first[i]! / t)).toFixed(2)}× slots`)
  await worker.terminate()
  channel.close()
} else {
  const shared = workerData as Shared
  const flags = new Int32Array(shared.slots)
  const a = new Int32Array(shared.moving, 0, ringBytes(CAPACITY) / 4)
  const b = new Int32Array(shared.moving, ringBytes(CAPACITY), ringBytes(CAPACITY) / 4)
  const channel = attachChannel(shared.channel, 1, threadSleeper)
  const buffer = new Uint8Array(64)
  let inbound: Ring | undefined
  let outbound: Ring | undefined
  let seq = 0
  for (let chunk = 0; chunk < CHUNKS; chunk++) {
    for (const step of STEPS) {
      for (let i = 0; i < CHUNK; i++) {
        seq++
        if (step === 'slots' || step === 'packed') {
          while (Atomics.load(flags, 0) !== seq) {}
          if (step === 'slots') {
            flags[48] = flags[32]!
            flags[49] = flags[33]!
            flags[50] = flags[34]!
          } else {
            unpack(flags, 32, buffer)
            pack(buffer, flags, 48)
          }
          flags[16] = seq
        } else if (step === 'moving') {
          const at = 48 + ((seq * 4) & (CAPACITY / 4 - 1))
          while (Atomics.load(a, 0) !== seq) {}
          unpack(a, at + 1, buffer)
          b[at] = a[at]!
          pack(buffer, b, at + 1)
          b[0] = seq
        } else if (step === 'ring') {
          inbound ??= new Ring(shared.rings, 0, CAPACITY)
          outbound ??= new Ring(shared.rings, ringBytes(CAPACITY), CAPACITY)
          let length
          while ((length = inbound.receiveInto(buffer)) < 0) {}
          outbound.send(buffer, length)
        } else {
          channel.send(buffer, channel.receiveInto(buffer))
        }
      }
    }
  }
}
