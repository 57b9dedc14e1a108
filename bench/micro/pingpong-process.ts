/*
 * Micro-benchmark: where a ping-pong between two processes loses to C, step by step, each step measured
 * across two processes pinned to the two cores, over one shared mapping (src/shm/memory.ts), 11-byte
 * messages, the client checking each reply:
 *   C        bench/c/shm-reference.c's ping-pong (one fixed slot and one flag word each way), the reference
 *   slots    the same protocol in JavaScript, the 11 bytes packed into and out of words
 *   records  a ring of records written inline in the loop: a record's length word publishes it (no head
 *            index to load), the next one's is zeroed first, room released every 32 messages
 *   channel  a process RingChannel (src/shm/channel.ts), as `wirespeed shm` uses it
 * Rounds interleave the steps; each prints its median rate and its median per-round ratio to C.
 *   node bench/micro/pingpong-process.ts [rounds] [roundtrips]       (Linux, koffi and a C compiler)
 */
import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { openChannel } from '../../src/index.ts'
import { mapShared } from '../../src/shm/memory.ts'
import { buildC, median } from '../lib/measure.ts'
import { pack, unpack } from './packed-message.ts'

const STEPS = ['slots', 'records', 'channel'] as const
type Step = (typeof STEPS)[number]
const root = fileURLToPath(new URL('../../', import.meta.url))
const reference = `${root}bench/.work/shm-reference`
const CAPACITY = 1 << 16
const MASK = CAPACITY - 1
const WORD_MASK = (CAPACITY >> 2) - 1

/** One direction of the inline record ring: control words (head at 0, tail at 16) and data words. */
interface Direction {
  control: Int32Array
  data: Int32Array
}

function direction(buffer: ArrayBuffer, offset: number): Direction {
  return { control: new Int32Array(buffer, offset, 48), data: new Int32Array(buffer, offset + 192, CAPACITY >> 2) }
}

/** The records step's two ends: send(words of the message, its bytes, length) and receive(into words, bytes). */
function recordRing(out: Direction, inbound: Direction) {
  let head = 0
  let tail = 0
  let tailSeen = 0
  let unreleased = 0
  return {
    send(words: Int32Array, bytes: Uint8Array, length: number): void {
      const record = (4 + length + 3) & ~3
      if (record + 4 > CAPACITY - ((head - tailSeen) | 0)) {
        tailSeen = Atomics.load(out.control, 16)
        if (record + 4 > CAPACITY - ((head - tailSeen) | 0)) throw new Error('ring full')
      }
      const data = out.data
      const at = (head & MASK) >> 2
      const full = length >> 2
      let i = 0
      for (; i < full; i++) data[(at + 1 + i) & WORD_MASK] = words[i]!
      const b = i << 2
      if (b < length) {
        let last = bytes[b]!
        if (b + 1 < length) last |= bytes[b + 1]! << 8
        if (b + 2 < length) last |= bytes[b + 2]! << 16
        data[(at + 1 + i) & WORD_MASK] = last
      }
      data[((head + record) & MASK) >> 2] = 0
      data[at] = length + 1
      head = (head + record) | 0
      out.control[0] = head
    },
    receive(words: Int32Array, bytes: Uint8Array): number {
      const data = inbound.data
      const at = (tail & MASK) >> 2
      let length: number
      while ((length = Atomics.load(data, at) - 1) < 0) {}
      const full = length >> 2
      let i = 0
      for (; i < full; i++) words[i] = data[(at + 1 + i) & WORD_MASK]!
      const b = i << 2
      if (b < length) {
        const word = data[(at + 1 + i) & WORD_MASK]!
        bytes[b] = word
        if (b + 1 < length) bytes[b + 1] = word >>> 8
        if (b + 2 < length) bytes[b + 2] = word >>> 16
      }
      tail = (tail + ((4 + length + 3) & ~3)) | 0
      if (++unreleased >= 32) {
        unreleased = 0
        Atomics.store(inbound.control, 16, tail)
      }
      return length
    },
  }
}

/** The answering side: pinned to core 0, it echoes `count` messages, then exits. */
async function serve(step: Step, name: string, count: number): Promise<void> {
  const buffer = new Uint8Array(64)
  const words = new Int32Array(buffer.buffer)
  if (step === 'channel') {
    const channel = await openChannel({ name, bytes: CAPACITY, create: true })
    process.stdout.write('ready\n')
    for (let i = 0; i < count; i++) channel.send(buffer, channel.receiveInto(buffer, 10_000))
    await new Promise((resolve) => setTimeout(resolve, 200)) // the client reads the last reply before the unlink
    channel.close()
    return
  }
  const mapping = await mapShared(name, 2 * (192 + CAPACITY), true)
  new Int32Array(mapping.buffer).fill(0)
  process.stdout.write('ready\n')
  if (step === 'slots') {
    const flags = new Int32Array(mapping.buffer, 0, 64)
    for (let i = 1; i <= count; i++) {
      while (Atomics.load(flags, 0) !== i) {}
      unpack(flags, 32, buffer)
      pack(buffer, flags, 48)
      flags[16] = i
    }
  } else {
    const ring = recordRing(direction(mapping.buffer, 192 + CAPACITY), direction(mapping.buffer, 0))
    for (let i = 0; i < count; i++) ring.send(words, buffer, ring.receive(words, buffer))
  }
  mapping.unlink()
  mapping.unmap()
}

/** The measuring side: pinned to core 1. @returns roundtrips per second, after checking every reply */
async function client(step: Step, name: string, count: number): Promise<number> {
  const message = new Uint8Array(11)
  const reply = new Uint8Array(11)
  const view = new DataView(message.buffer)
  for (let i = 4; i < 11; i++) message[i] = i * 13
  let errors = 0
  let started = 0
  if (step === 'channel') {
    const channel = await openChannel({ name, create: false })
    started = performance.now()
    for (let i = 0; i < count; i++) {
      view.setUint32(0, i, true)
      channel.send(message)
      channel.receiveInto(reply, 10_000)
      if (reply[0] !== message[0] || reply[10] !== message[10]) errors++
    }
    channel.close()
  } else {
    const mapping = await mapShared(name, 2 * (192 + CAPACITY), false)
    if (step === 'slots') {
      const flags = new Int32Array(mapping.buffer, 0, 64)
      started = performance.now()
      for (let i = 1; i <= count; i++) {
        view.setUint32(0, i, true)
        pack(message, flags, 32)
        flags[0] = i
        while (Atomics.load(flags, 16) !== i) {}
        unpack(flags, 48, reply)
        if (reply[0] !== message[0] || reply[10] !== message[10]) errors++
      }
    } else {
      const ring = recordRing(direction(mapping.buffer, 0), direction(mapping.buffer, 192 + CAPACITY))
      const messageWords = new Int32Array(message.buffer, 0, 2)
      const replyWords = new Int32Array(reply.buffer, 0, 2)
      started = performance.now()
      for (let i = 0; i < count; i++) {
        view.setUint32(0, i, true)
        ring.send(messageWords, message, 11)
        if (ring.receive(replyWords, reply) !== 11 || reply[0] !== message[0] || reply[10] !== message[10]) errors++
      }
    }
    mapping.unmap()
  }
  const perSecond = count / ((performance.now() - started) / 1000)
  if (errors > 0) throw new Error(`${step}: ${errors} wrong replies`)
  return perSecond
}

function run(argv: string[], core: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn('taskset', ['-c', core, ...argv], { stdio: ['ignore', 'pipe', 'inherit'] })
    let out = ''
    child.stdout.on('data', (bytes: Buffer) => (out += bytes))
    child.on('error', reject)
    child.on('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`${argv.join(' ')} exited with ${code}`))))
  })
}

async function measure(step: Step, count: number): Promise<number> {
  const name = `/wirespeed-pingpong-${process.pid}-${step}`
  const self = fileURLToPath(import.meta.url)
  const server = spawn('taskset', ['-c', '0', process.execPath, self, 'serve', step, name, String(count)], { stdio: ['ignore', 'pipe', 'inherit'] })
  const exited = new Promise((resolve) => server.once('exit', resolve))
  await new Promise<void>((resolve, reject) => {
    server.stdout.once('data', () => resolve())
    server.once('exit', (code) => reject(new Error(`${step} server exited with ${code}`)))
  })
  const out = await run([process.execPath, self, 'client', step, name, String(count)], '1')
  await exited
  return Number(out.trim())
}

const [role, step, name, countText] = process.argv.slice(2)
if (role === 'serve') await serve(step as Step, name!, Number(countText))
else if (role === 'client') process.stdout.write(`${await client(step as Step, name!, Number(countText))}\n`)
else {
  const rounds = Number(process.argv[2] ?? 5)
  const count = Number(process.argv[3] ?? 1_000_000)
  const missing = buildC(`${root}bench/c/shm-reference.c`, reference, () => {})
  if (missing) console.log(`C skipped: ${missing}`)
  const rates = new Map<string, number[]>([...(missing ? [] : [['C', []] as [string, number[]]]), ...STEPS.map((s): [string, number[]] => [s, []])])
  for (let round = 0; round < rounds; round++) {
    if (!missing) rates.get('C')!.push((JSON.parse(await run([reference, 'pingpong', String(count)], '0,1')) as { perSecond: number }).perSecond)
    for (const s of STEPS) rates.get(s)!.push(await measure(s, count))
  }
  const cRates = rates.get('C')
  for (const [label, values] of rates) {
    const versusC = cRates ? `${median(values.map((value, round) => value / cRates[round]!)).toFixed(2)}× C (median of per-round ratios)` : ''
    console.log(`${label.padEnd(8)} ${(median(values) / 1e6).toFixed(2)} M roundtrips/s   ${versusC}`)
  }
}
