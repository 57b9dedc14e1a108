/*
 * A duplex message channel over shared memory: one ring each way, between two threads (SharedArrayBuffer)
 * or two processes (a named shared-memory object, through koffi). This file is the mechanism; which kind a
 * caller gets is `openChannel()`'s choice (./open-channel.ts).
 *
 * Layout of the memory:
 *
 *   0     ┌ header ─────────────────────────────────────────────┐
 *         │ magic u32 "WSCH" │ layout version u32 │ capacity u32 │
 *         │ ready i32 │ pid A i32 │ pid B i32 │ closed A i32 │ closed B i32 │
 *   256   ├ ring A→B (src/shm/ring.ts: 192-byte control block + capacity) ┤
 *         ├ ring B→A ─────────────────────────────────────────────────────┤
 *         └───────────────────────────────────────────────────────────────┘
 *
 * Side A creates (and, for a named object, unlinks it on close); side B opens. Builds with another magic or
 * layout version refuse to talk.
 *
 * Waiting: `receive()` spins on the ring first (a roundtrip between cores is well under a microsecond), and
 * only then sleeps: it raises the ring's consumerWaiting flag (once, for the whole wait), checks once more,
 * and sleeps on the head word (Atomics.wait, or the futex syscall between processes), 1 ms the first time
 * and at most 100 ms at a time after that. The sender wakes it
 * only when that flag is up, so a busy channel makes no system call at all. Between naps the sleeper checks
 * its peer: a process that no longer exists (its pid) or a side that closed is an error within a second,
 * never an endless wait. `send()` waits for room the same way, on the tail word.
 */
import { readFileSync } from 'node:fs'
import { ChannelBusyError, ChannelClosedError, ChannelIncompatibleError, ChannelTimeoutError, PeerGoneError } from '../errors.ts'
import { threadSleeper, type Mapping, type Sleeper } from './memory.ts'
import { Ring, RING_WORDS, ringBytes } from './ring.ts'
import type { Channel } from './types.ts'

export const MAGIC = 0x48435357 // "WSCH" little-endian
const LAYOUT_VERSION = 2
export const HEADER_BYTES = 256
export const H = { magic: 0, version: 1, capacity: 2, ready: 3, pidA: 4, pidB: 5, closedA: 6, closedB: 7 } as const
const SPINS = 20_000
const NAP_MS = 100
/** The first nap of a wait: short, because a publish racing with the flag going up may not wake it (#wakeConsumer). */
const FIRST_NAP_MS = 1

/** What #out and #in hold before the constructor sets them (see NO_BYTES in ./ring.ts). */
const NO_RING = new Ring(new ArrayBuffer(ringBytes(64)), 0, 64)

/** Bytes of memory a channel with `capacity`-byte rings takes. */
export function channelBytes(capacity: number): number {
  return HEADER_BYTES + 2 * ringBytes(capacity)
}

/**
 * One side of a channel over shared memory (threads or processes).
 * @example
 * const channel = await openChannel({ name: '/wirespeed-demo', bytes: 1 << 20, create: true })
 * channel.send(new TextEncoder().encode('ping'))
 * const reply = channel.receive()
 * channel.close()
 */
export class RingChannel implements Channel {
  readonly side: 'A' | 'B'
  /** The shared memory; for a thread channel, hand it to the worker that opens side B. */
  readonly memory: ArrayBufferLike
  readonly #header: Int32Array = NO_RING.words
  readonly #out: Ring = NO_RING
  readonly #in: Ring = NO_RING
  readonly #sleeper: Sleeper
  readonly #mapping: Mapping | undefined
  readonly #name: string | undefined
  #closed = false

  constructor(memory: ArrayBufferLike, side: 'A' | 'B', capacity: number, batch: number, sleeper: Sleeper, mapping?: Mapping, name?: string) {
    this.side = side
    this.memory = memory
    this.#header = new Int32Array(memory, 0, HEADER_BYTES / 4)
    const ab = new Ring(memory, HEADER_BYTES, capacity, side === 'A' ? batch : 1)
    const ba = new Ring(memory, HEADER_BYTES + ringBytes(capacity), capacity, side === 'B' ? batch : 1)
    this.#out = side === 'A' ? ab : ba
    this.#in = side === 'A' ? ba : ab
    this.#sleeper = sleeper
    this.#mapping = mapping
    this.#name = name
  }

  /** Largest message this channel carries. */
  get messageBytesMax(): number {
    return this.#out.messageBytesMax
  }

  /** True once this side has closed. */
  get closed(): boolean {
    return this.#closed
  }

  /**
   * Sends a message (its first `length` bytes), waiting while the ring is full.
   * @throws when the peer is gone or the message is over messageBytesMax
   */
  send(message: Uint8Array, length = message.length): void {
    this.#check()
    const out = this.#out
    if (!out.send(message, length)) this.#waitForRoom(message, length)
    // Only a publish can end the consumer's sleep: look at its flag then, not on every batched message.
    if (out.allPublished) this.#wakeConsumer()
  }

  /** Publishes messages held back by batching, and wakes the peer if it sleeps. */
  flush(): void {
    this.#check()
    this.#out.flush()
    this.#wakeConsumer()
  }

  /**
   * Wakes the consumer if its flag says it sleeps. A plain load: an Atomics.load is a call that costs a
   * single message 8 ns. With the publish a plain store too (x64, src/shm/ring.ts), this load may pass the
   * store and miss a flag raised just before the consumer's last look at the head; the consumer raises it
   * once per wait and keeps it up, so only its first nap (FIRST_NAP_MS) can be missed: a delay of at most
   * 1 ms in a rare race, never a lost message.
   */
  #wakeConsumer(): void {
    const words = this.#out.words
    if (words[RING_WORDS.consumerWaiting] === 1) this.#sleeper.wake(words, RING_WORDS.head)
  }

  /**
   * The next message, waiting for it (spin, then sleep).
   * @param timeoutMs give up after this long with a TimeoutError (default: wait as long as the peer lives)
   */
  receive(timeoutMs = Infinity): Uint8Array {
    this.#check()
    let deadline = 0
    for (let spins = 0; ; spins++) {
      const message = this.#in.receive()
      if (message !== undefined) {
        if (deadline !== 0) this.#stopWaiting()
        this.#afterReceive()
        return message
      }
      if (spins >= SPINS) deadline = this.#sleepForMessage(deadline, timeoutMs)
    }
  }

  /** Copies the next message into `target`, waiting for it; returns its length. No allocation. */
  receiveInto(target: Uint8Array, timeoutMs = Infinity): number {
    // A message already there is taken here, in a body small enough for V8 to inline into the caller's loop;
    // the waiting is #waitInto's.
    this.#check()
    const length = this.#in.receiveInto(target)
    if (length < 0) return this.#waitInto(target, timeoutMs)
    this.#afterReceive()
    return length
  }

  /** receiveInto() when the ring was empty: spins, then sleeps, until a message comes (or the peer goes, or the time is up). */
  #waitInto(target: Uint8Array, timeoutMs: number): number {
    let deadline = 0
    for (let spins = 1; ; spins++) {
      const length = this.#in.receiveInto(target)
      if (length >= 0) {
        if (deadline !== 0) this.#stopWaiting()
        this.#afterReceive()
        return length
      }
      if (spins >= SPINS) deadline = this.#sleepForMessage(deadline, timeoutMs)
    }
  }

  /**
   * The next message, waiting without blocking the thread (Atomics.waitAsync), for code that runs on an
   * event loop. Thread channels only: a mapping between processes cannot be waited on asynchronously.
   */
  async receiveAsync(timeoutMs = Infinity): Promise<Uint8Array> {
    const deadline = performance.now() + timeoutMs
    const ring = this.#in
    let waiting = false
    try {
      for (;;) {
        const message = this.tryReceive()
        if (message !== undefined) return message
        let nap = NAP_MS
        if (!waiting) {
          // Raised once for the whole wait (see #sleepForMessage).
          Atomics.store(ring.words, RING_WORDS.consumerWaiting, 1)
          waiting = true
          nap = FIRST_NAP_MS
        }
        const head = Atomics.load(ring.words, RING_WORDS.head)
        if (!ring.readable) {
          const wait = Atomics.waitAsync(ring.words, RING_WORDS.head, head, Math.min(nap, Math.max(1, deadline - performance.now())))
          if (wait.async) await wait.value
        }
        if (!ring.readable) {
          this.#checkPeer()
          if (performance.now() >= deadline) throw new ChannelTimeoutError(`No message on channel within ${timeoutMs} ms`)
        }
      }
    } finally {
      if (waiting) this.#stopWaiting()
    }
  }

  /** The next message if one is waiting, without waiting. */
  tryReceive(): Uint8Array | undefined {
    this.#check()
    const message = this.#in.receive()
    if (message !== undefined) this.#afterReceive()
    return message
  }

  /** Marks this side closed (the peer's waits end with an error), unmaps, and unlinks if this side created it. */
  close(): void {
    if (this.#closed) return
    this.#out.flush()
    Atomics.store(this.#header, this.side === 'A' ? H.closedA : H.closedB, 1)
    this.#sleeper.wake(this.#out.words, RING_WORDS.head)
    this.#sleeper.wake(this.#in.words, RING_WORDS.tail)
    this.#closed = true
    if (this.#mapping) {
      if (this.side === 'A') this.#mapping.unlink()
      this.#mapping.unmap()
    }
  }

  /** Checks both rings' invariants (for tests). */
  invariants(): void {
    this.#out.invariants()
    this.#in.invariants()
  }

  #afterReceive(): void {
    // Only a release can end the producer's wait for room: look at its flag then (every 32 messages or so).
    if (this.#in.allReleased) this.#wakeProducer()
  }

  #wakeProducer(): void {
    const words = this.#in.words
    if (Atomics.load(words, RING_WORDS.producerWaiting) === 1) this.#sleeper.wake(words, RING_WORDS.tail)
  }

  /**
   * Sleeps once (at most NAP_MS), then checks the peer and the deadline. The first call raises the
   * consumerWaiting flag for the whole wait (the receive lowers it, or the error thrown here): a publish
   * that races with the raising can miss it (#wakeConsumer), so that first nap is short; every later
   * publish sees it. @returns the deadline
   */
  #sleepForMessage(deadline: number, timeoutMs: number): number {
    const ring = this.#in
    let nap = NAP_MS
    if (deadline === 0) {
      deadline = timeoutMs === Infinity ? Infinity : performance.now() + timeoutMs
      Atomics.store(ring.words, RING_WORDS.consumerWaiting, 1)
      nap = FIRST_NAP_MS
    }
    const head = Atomics.load(ring.words, RING_WORDS.head)
    if (!ring.readable) this.#sleeper.wait(ring.words, RING_WORDS.head, head, Math.min(nap, Math.max(1, deadline - performance.now())))
    if (!ring.readable) {
      try {
        this.#checkPeer()
        if (performance.now() >= deadline) throw new ChannelTimeoutError(`No message on channel${this.#name ? ` ${this.#name}` : ''} within ${timeoutMs} ms`)
      } catch (error) {
        this.#stopWaiting()
        throw error
      }
    }
    return deadline
  }

  /** Lowers this side's consumerWaiting flag (not after close: the memory may be unmapped). */
  #stopWaiting(): void {
    if (!this.#closed) Atomics.store(this.#in.words, RING_WORDS.consumerWaiting, 0)
  }

  #waitForRoom(message: Uint8Array, length: number): void {
    const out = this.#out
    for (let spins = 0; !out.send(message, length); spins++) {
      if (spins < SPINS) continue
      Atomics.store(out.words, RING_WORDS.producerWaiting, 1)
      const tail = Atomics.load(out.words, RING_WORDS.tail)
      // Room may have been released before the flag went up: try once more before sleeping.
      if (out.send(message, length)) {
        Atomics.store(out.words, RING_WORDS.producerWaiting, 0)
        return
      }
      if (Atomics.load(out.words, RING_WORDS.consumerWaiting) === 1) this.#sleeper.wake(out.words, RING_WORDS.head)
      this.#sleeper.wait(out.words, RING_WORDS.tail, tail, NAP_MS)
      Atomics.store(out.words, RING_WORDS.producerWaiting, 0)
      this.#checkPeer()
    }
  }

  #check(): void {
    // After close the memory may be unmapped: touching it would crash the process, so refuse first. (The
    // throw is out of line: V8's inlining budget for a caller's loop is shared by everything it calls.) One
    // comparison with true: V8 does not know the field holds only booleans, and a plain test checks it
    // against every falsy value.
    if (this.#closed === true) this.#throwClosed()
  }

  #throwClosed(): never {
    throw new ChannelClosedError(`Channel${this.#name ? ` ${this.#name}` : ''} is closed`)
  }

  #checkPeer(): void {
    this.#check()
    const header = this.#header
    if (Atomics.load(header, this.side === 'A' ? H.closedB : H.closedA) === 1) {
      throw new PeerGoneError(`The other side of channel${this.#name ? ` ${this.#name}` : ''} closed it`)
    }
    if (this.#mapping === undefined) return
    const pid = Atomics.load(header, this.side === 'A' ? H.pidB : H.pidA)
    if (pid !== 0 && !processExists(pid)) {
      throw new PeerGoneError(`The other side of channel ${this.#name} (process ${pid}) died`)
    }
  }

  /** Side A, after its peer left: empties the rings, then lets the next side B claim the channel. */
  resetForNextPeer(): void {
    this.#check()
    const header = this.#header
    for (const ring of [this.#out, this.#in]) ring.words.fill(0)
    this.#out.reset()
    this.#in.reset()
    Atomics.store(header, H.pidB, 0)
    Atomics.store(header, H.closedB, 0)
  }

  /** Side A records its pid, so that side B can tell when it dies. */
  attachCreator(): void {
    Atomics.store(this.#header, H.pidA, process.pid)
  }

  /**
   * Side B claims the channel with its pid, so that side A can tell when it dies. One side B at a time:
   * while another holds it (or has left and side A has not yet reset the rings), wait up to `waitMs`.
   */
  async claim(waitMs: number): Promise<void> {
    const header = this.#header
    const deadline = performance.now() + waitMs
    while (Atomics.load(header, H.closedB) !== 0 || Atomics.compareExchange(header, H.pidB, 0, process.pid) !== 0) {
      if (performance.now() > deadline) {
        const pid = Atomics.load(header, H.pidB)
        throw new ChannelBusyError(`Channel ${this.#name} is busy with another client (process ${pid})`, pid)
      }
      await new Promise((resolve) => setTimeout(resolve, 5))
    }
  }

  /** True once a side B has opened this channel (process channels record its pid). */
  get peerAttached(): boolean {
    return Atomics.load(this.#header, H.pidB) !== 0
  }
}


/** True while process `pid` runs. A zombie (dead, not yet reaped by its parent) counts as dead. */
export function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0)
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
  if (process.platform !== 'linux') return true
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1')
    const state = stat[stat.lastIndexOf(')') + 2]
    return state !== 'Z' && state !== 'X'
  } catch {
    return false
  }
}

/** Lays out a fresh channel in `memory` (side A): header, then two empty rings. */
export function initializeChannel(memory: ArrayBufferLike, capacity: number): void {
  const header = new Int32Array(memory, 0, HEADER_BYTES / 4)
  header.fill(0)
  new Int32Array(memory, HEADER_BYTES, (2 * ringBytes(capacity)) / 4).fill(0)
  header[H.magic] = MAGIC
  header[H.version] = LAYOUT_VERSION
  header[H.capacity] = capacity
  Atomics.store(header, H.ready, 1)
}

/**
 * Side B of the channel laid out in `memory`.
 * @throws ChannelIncompatibleError when the memory holds no channel of this build
 */
export function attachChannel(memory: ArrayBufferLike, batch: number, sleeper: Sleeper, mapping?: Mapping, name?: string): RingChannel {
  const header = new Int32Array(memory, 0, HEADER_BYTES / 4)
  if (memory.byteLength < HEADER_BYTES || header[H.magic] !== MAGIC || header[H.version] !== LAYOUT_VERSION) {
    throw new ChannelIncompatibleError(`Channel${name ? ` ${name}` : ''} was made by another build (magic ${(header[H.magic]! >>> 0).toString(16)}, layout ${header[H.version]}; expected ${MAGIC.toString(16)}, layout ${LAYOUT_VERSION}): they refuse to talk`)
  }
  if (Atomics.load(header, H.ready) !== 1) throw new ChannelIncompatibleError(`Channel${name ? ` ${name}` : ''} is not ready`)
  const capacity = header[H.capacity]!
  if (memory.byteLength < channelBytes(capacity)) throw new ChannelIncompatibleError(`Channel${name ? ` ${name}` : ''} is smaller than its header says`)
  return new RingChannel(memory, 'B', capacity, batch, sleeper, mapping, name)
}

/** Side A of a new channel between threads, in a fresh SharedArrayBuffer (hand `channel.memory` to side B). */
export function threadChannel(capacity: number, batch: number): RingChannel {
  const memory = new SharedArrayBuffer(channelBytes(capacity))
  initializeChannel(memory, capacity)
  return new RingChannel(memory, 'A', capacity, batch, threadSleeper)
}
