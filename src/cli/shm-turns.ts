/*
 * The channel's measured loops, and C's beside them: what `wirespeed shm client` (./shm.ts) and the shm
 * benchmark (bench/load/shm-pingpong.ts, shm-stream.ts) both run, so that the demo prints the figures the
 * benchmark would.
 *
 * Why turns: this machine changes speed within milliseconds (the C ping-pong alone measures anywhere from
 * 1 to 11 M roundtrips/s from one moment to the next), so figures measured in other processes at other
 * moments do not compare, however many rounds are taken. Both sides run the channel and C's loops
 * (bench/c/shm-loops.c, a shared library called through koffi, over a mapping of its own between the same
 * two processes) in turns, a chunk each, the order swapped from pair to pair; a C loop runs whole inside
 * one koffi call per chunk, so it is C's speed, not koffi's. Without the C library the channel runs alone,
 * in the same chunks.
 *
 * Each turn's loop is a function of its own, which V8 optimizes as a whole: a loop inside a long-running
 * caller would run on-stack-replaced code, thrown away each time the loop is left (a slow stretch after
 * each). The checks cost almost nothing: a ping-pong reply is compared with the message a word at a time,
 * a streamed message's length and sequence number are compared (as C's loops do).
 *
 * Worst case: a peer that dies mid-turn. The channel's waits end within a second (PeerGoneError); C's give
 * up after 10 s (LOOPS_GAVE_UP, turned into PeerGoneError here).
 */
import { readFileSync } from 'node:fs'
import { PeerGoneError } from '../errors.ts'
import { loadKoffi } from '../ffi/koffi.ts'
import { mapShared, type Mapping } from '../shm/memory.ts'
import type { Channel } from '../shm/types.ts'
import { findCReference } from './build-c.ts'
import { median } from './median.ts'

/** Roundtrips in a ping-pong turn, messages in a stream turn: about a millisecond each. */
export const PINGPONG_CHUNK = 2000
export const STREAM_CHUNK = 50_000
/** Untimed pairs of turns first: the JIT's tiers, and the C library's first calls. */
export const WARM_UP_PAIRS = 10
/** C's loops move 11-byte messages only (PINGPONG_SIZE in bench/c/shm-loops.c). */
export const C_MESSAGE_BYTES = 11
/** C's memory: the ping-pong's slots (struct pingpong_slots) in a page; the stream's three control lines and 1 MiB ring. */
export const C_PINGPONG_BYTES = 4096
export const C_STREAM_BYTES = (1 << 20) + 4096
/** guarded_call()'s loops (enum loop), its give-up, and what it returns then (LOOPS_GAVE_UP): bench/c/shm-loops.c. */
const C_LOOP = { pingpongServe: 0, pingpongCall: 1, streamProduce: 2, streamConsume: 3 } as const
const C_GIVE_UP_SECONDS = 10
const C_GAVE_UP = 0xffff_ffff
/** A channel wait inside a turn: the peer answers within microseconds, or is gone (found within a second). */
const TURN_WAIT_MS = 10_000

export type Turn = 'C' | 'wirespeed'
/** C's loops over one mapping (bench/c/shm-loops.c). */
export type CLoops = Awaited<ReturnType<typeof openCLoops>>

/** Pair `pair`'s turns, in the order both sides follow. */
export function turns(pair: number, withC: boolean): Turn[] {
  if (!withC) return ['wirespeed']
  return pair % 2 === 0 ? ['C', 'wirespeed'] : ['wirespeed', 'C']
}

/**
 * Runs `pairs` pairs of turns after the warm-up, in the order both sides follow: `c(from)` runs C's loop
 * for the chunk whose sequence numbers start at `from` (1, then on by `chunk`), `wirespeed()` the channel's.
 * @returns each one's rate per turn (`chunk` per second of the turn), warm-up left out
 */
export function takeTurns(pairs: number, chunk: number, c: ((from: number) => void) | undefined, wirespeed: () => void): Record<Turn, number[]> {
  const rates: Record<Turn, number[]> = { C: [], wirespeed: [] }
  let from = 1
  for (let pair = 0; pair < WARM_UP_PAIRS + pairs; pair++) {
    for (const turn of turns(pair, c !== undefined)) {
      const started = performance.now()
      if (turn === 'C') {
        c!(from)
        from += chunk
      } else wirespeed()
      if (pair >= WARM_UP_PAIRS) rates[turn].push(chunk / ((performance.now() - started) / 1000))
    }
  }
  return rates
}

export interface TurnsSummary {
  /** The channel's median rate over its turns. */
  perSecond: number
  /** C's, and the median of the channel's rate over C's in each pair: present when C took turns. */
  cPerSecond?: number
  ratio?: number
}

/** The median of each side's rates, and of wirespeed's rate over C's in each pair. */
export function summary(rates: Record<Turn, number[]>): TurnsSummary {
  const result: TurnsSummary = { perSecond: median(rates.wirespeed) }
  if (rates.C.length > 0) {
    result.cPerSecond = median(rates.C)
    result.ratio = median(rates.wirespeed.map((rate, pair) => rate / rates.C[pair]!))
  }
  return result
}

/** Seconds the channel's timed turns took in all. */
export function turnSeconds(rates: Record<Turn, number[]>, chunk: number): number {
  return rates.wirespeed.reduce((sum, rate) => sum + chunk / rate, 0)
}

/**
 * The C loops' library for `wirespeed shm`: `choice` is `auto` (a checkout's bench/c/shm-loops.c, built into
 * bench/.work when missing or older), `off`, or the path of a built library.
 */
export function findCLoops(choice: string, log: (line: string) => void): { path: string } | { why: string } {
  return findCReference(choice, 'shm-loops.c', 'shm-loops.so', ['-shared', '-fPIC'], log)
}

/**
 * The CPUs this process may run on, as Linux lists them (`0-1`, `1`), or `any` where it cannot tell.
 * C's loops spin without ever yielding: two sides on one CPU would hand over only when the scheduler
 * preempts one, a timeslice a message, so C takes turns only when the two sides have two CPUs between them.
 */
export function cpusAllowed(): string {
  try {
    return /^Cpus_allowed_list:\s*(\S+)/m.exec(readFileSync('/proc/self/status', 'latin1'))?.[1] ?? 'any'
  } catch {
    return 'any'
  }
}

/** True when two sides whose cpusAllowed() are `a` and `b` have at least two CPUs between them. */
export function twoCpusBetween(a: string, b: string): boolean {
  if (a === 'any' || b === 'any') return true
  const cpus = new Set<number>()
  for (const list of [a, b]) {
    for (const range of list.split(',')) {
      const [first, last = first] = range.split('-').map(Number)
      for (let cpu = first!; cpu <= last! && cpus.size < 2; cpu++) cpus.add(cpu)
    }
  }
  return cpus.size >= 2
}

/** The C loops (bench/c/shm-loops.c) over `bytes` of shared memory named `name`, made by the side that `creates`. */
export async function openCLoops(library: string, name: string, bytes: number, creates: boolean) {
  const mapping: Mapping = await mapShared(name, bytes, creates)
  try {
    const memory = new Uint8Array(mapping.buffer) // koffi passes a typed array's own memory: the mapping
    const lib = (await loadKoffi('The C loops', 'the channel runs alone without them')).load(library)
    // Each loop through guarded_call(), which gives up on it after C_GIVE_UP_SECONDS (bench/c/shm-loops.c says how).
    const guardedCall = lib.func('uint32_t guarded_call(uint32_t loop, void *memory, uint32_t from, uint32_t count, uint32_t batch, uint32_t seconds)')
    const call = (loop: number, from: number, count: number, batch: number): number => {
      const result = guardedCall(loop, memory, from, count, batch, C_GIVE_UP_SECONDS) as number
      if (result === C_GAVE_UP) throw new PeerGoneError(`C's loop over ${name} waited ${C_GIVE_UP_SECONDS} s for the other side: it is gone or stopped`)
      return result
    }
    return {
      pingpongServe: (from: number, count: number): void => void call(C_LOOP.pingpongServe, from, count, 1),
      /** @returns the wrong replies */
      pingpongCall: (from: number, count: number): number => call(C_LOOP.pingpongCall, from, count, 1),
      streamProduce: (from: number, count: number, batch: number): void => void call(C_LOOP.streamProduce, from, count, batch),
      /** @returns the wrong messages */
      streamConsume: (from: number, count: number): number => call(C_LOOP.streamConsume, from, count, 1),
      close(): void {
        if (creates) mapping.unlink()
        mapping.unmap()
      },
    }
  } catch (error) {
    if (creates) mapping.unlink()
    mapping.unmap()
    throw error
  }
}

/** A message of `size` bytes as both sides fill it: the sequence number in the first four, then a pattern. */
function newMessage(size: number): Uint8Array {
  const message = new Uint8Array(size)
  for (let i = 4; i < size; i++) message[i] = (i * 13) & 0xff
  return message
}

// Ping-pong: the answering side copies each message into its reply; the measuring side checks every byte.

function serveTurn(channel: Channel, buffer: Uint8Array, chunk: number): void {
  for (let i = 0; i < chunk; i++) channel.send(buffer, channel.receiveInto(buffer, TURN_WAIT_MS))
}

/**
 * `chunk` roundtrips numbered after `sequence`, every byte of each reply checked: whole words (as C's
 * memcmp does, more or less), then the bytes after the last. @returns the wrong replies
 */
function callTurn(channel: Channel, message: Uint8Array, reply: Uint8Array, messageWords: Int32Array, replyWords: Int32Array, sequence: number, chunk: number): number {
  const size = message.length
  const words = messageWords.length
  let errors = 0
  for (let i = 0; i < chunk; i++) {
    messageWords[0] = ++sequence
    channel.send(message)
    if (channel.receiveInto(reply, TURN_WAIT_MS) !== size) errors++
    else {
      let w = 0
      while (w < words && replyWords[w] === messageWords[w]) w++
      let b = words * 4
      while (b < size && reply[b] === message[b]) b++
      if (w < words || b < size) errors++
    }
  }
  return errors
}

/** The answering side of a ping-pong of `pairs` pairs of `chunk` roundtrips (and the warm-up), with `c` when given. */
export function serveTurns(channel: Channel, c: CLoops | undefined, pairs: number, chunk: number, buffer: Uint8Array): void {
  takeTurns(pairs, chunk, c && ((from) => c.pingpongServe(from, chunk)), () => serveTurn(channel, buffer, chunk))
}

/** The measuring side of that ping-pong, with messages of `size` bytes (at least 4): its rates and the wrong replies. */
export function callTurns(channel: Channel, c: CLoops | undefined, pairs: number, chunk: number, size: number) {
  const message = newMessage(size)
  const reply = new Uint8Array(size)
  const messageWords = new Int32Array(message.buffer, 0, size >> 2)
  const replyWords = new Int32Array(reply.buffer, 0, size >> 2)
  let errors = 0
  let cErrors = 0
  let sequence = 0
  const rates = takeTurns(pairs, chunk, c && ((from) => (cErrors += c.pingpongCall(from, chunk))), () => {
    errors += callTurn(channel, message, reply, messageWords, replyWords, sequence, chunk)
    sequence += chunk
  })
  return { rates, errors, cErrors }
}

// Stream: the producer sends `chunk` messages a turn and waits for the consumer's word that it read them.

/** Reads `chunk` messages, checking their length and their numbers after `sequence`. @returns the wrong ones */
function consumeTurn(channel: Channel, buffer: Uint8Array, words: Int32Array, size: number, sequence: number, chunk: number): number {
  let errors = 0
  for (let i = 0; i < chunk; i++) {
    if (channel.receiveInto(buffer, TURN_WAIT_MS) !== size || words[0] !== (++sequence | 0)) errors++
  }
  return errors
}

/** Sends `chunk` messages numbered after `sequence`, and publishes the last batch. */
function produceTurn(channel: Channel, message: Uint8Array, words: Int32Array, sequence: number, chunk: number): void {
  for (let i = 0; i < chunk; i++) {
    words[0] = ++sequence
    channel.send(message)
  }
  channel.flush()
}

/**
 * The consuming side of a stream of `pairs` pairs of `chunk` messages of `size` bytes (and the warm-up),
 * with `c` when given: answers each of the channel's turns with a word, and at the end sends the wrong
 * messages it counted (the channel's and C's, 8 bytes) to the producer. `buffer` holds at least `size`, at a
 * 4-byte-aligned offset (the sequence number is read as a word, in the machine's order, as it was written).
 */
export function consumeTurns(channel: Channel, c: CLoops | undefined, pairs: number, chunk: number, size: number, buffer: Uint8Array): void {
  const words = new Int32Array(buffer.buffer, buffer.byteOffset, 1)
  const done = new Uint8Array(8)
  let errors = 0
  let cErrors = 0
  let sequence = 0
  takeTurns(pairs, chunk, c && ((from) => (cErrors += c.streamConsume(from, chunk))), () => {
    errors += consumeTurn(channel, buffer, words, size, sequence, chunk)
    sequence += chunk
    channel.send(done) // the turn's end
  })
  const doneView = new DataView(done.buffer)
  doneView.setUint32(0, errors, true)
  doneView.setUint32(4, cErrors, true)
  channel.send(done)
  channel.flush()
}

/** The producing side of that stream, publishing every `batch` (C's loop; the channel was opened with it). */
export function produceTurns(channel: Channel, c: CLoops | undefined, pairs: number, chunk: number, size: number, batch: number) {
  const message = newMessage(size)
  const words = new Int32Array(message.buffer, 0, 1)
  const done = new Uint8Array(8)
  let sequence = 0
  const rates = takeTurns(pairs, chunk, c && ((from) => c.streamProduce(from, chunk, batch)), () => {
    produceTurn(channel, message, words, sequence, chunk)
    sequence += chunk
    channel.receiveInto(done, TURN_WAIT_MS) // the consumer has read them all
  })
  channel.receiveInto(done, TURN_WAIT_MS)
  const doneView = new DataView(done.buffer)
  return { rates, errors: doneView.getUint32(0, true), cErrors: doneView.getUint32(4, true) }
}
