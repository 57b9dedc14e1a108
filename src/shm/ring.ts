/*
 * A single-producer, single-consumer ring of variable-length messages over any ArrayBuffer: a
 * SharedArrayBuffer between threads, or a mapped shared-memory object between processes.
 *
 * Layout (offsets from the ring's start; every index is a byte count that only grows, wrapping at 2^32; in JS an
 * index is kept as a signed 32-bit integer, the same bits, so that it stays a small integer past 2 GiB sent):
 *
 *   0    ┌──────────────────────────────┐
 *        │ head: bytes published (u32)  │  written by the producer only   ── cache line 0
 *   64   ├──────────────────────────────┤
 *        │ tail: bytes consumed (u32)   │  written by the consumer only   ── cache line 1
 *   128  ├──────────────────────────────┤
 *        │ consumerWaiting (i32)        │  1 while the consumer sleeps on `head` (futex word)
 *        │ producerWaiting (i32)        │  1 while the producer sleeps on `tail`
 *   192  ├──────────────────────────────┤
 *        │ data: capacity bytes         │  capacity is a power of two, at least 64
 *        │  [len i32][payload][pad to 4]│  records are 4-byte aligned, so a length (one native-endian
 *        │  [len i32][payl-             │  word) never straddles the end; a payload may wrap around
 *        │  -oad][pad] ...              │  to the start, a whole word at a time
 *        └──────────────────────────────┘
 *
 * Head and tail sit on separate cache lines so the two cores do not fight over one line. The producer
 * writes records past `head` and then publishes with one store (a plain one on x64, see PLAIN_PUBLISH;
 * Atomics.store elsewhere); the consumer finds it with Atomics.load and reads records up to
 * the head it loaded and releases them with one Atomics.store of `tail` (every 32 messages or a quarter
 * of the capacity read, whichever comes first, or on `release()`). The quarter is what keeps the two sides
 * live: with less than a quarter unreleased, an empty ring leaves the producer room for the largest message
 * (half the capacity), so a consumer waiting for messages never holds back a producer waiting for room; and
 * no release happens on the roundtrip's path of a ping-pong (an Atomics.store is a full fence in JS). Each side keeps the other's index
 * as last seen and reloads it only when the ring looks full (producer) or empty (consumer), so in a stream
 * the cache line of the other index moves once per lap, not once per message. With batching, the producer
 * publishes only every `batch` messages or on `flush()`, so the consumer's core sees one store per batch.
 *
 * A message may be up to half the capacity (so two always fit); a longer one is a RangeError naming the
 * limit. `send()` returns false when the ring is full; the channel decides whether to spin or sleep.
 */

/** Bytes of the control block before the data. */
export const RING_HEADER_BYTES = 192
const HEAD = 0
const TAIL = 16
const CONSUMER_WAITING = 32
const PRODUCER_WAITING = 33
const LENGTH_BYTES = 4
const TAIL_RELEASE_EVERY = 32
const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1
/**
 * Publishing with a plain store on x64: its stores are seen by other cores in program order (TSO), so the
 * payload is visible before the index that publishes it, as a C release store (a plain mov) gives; an
 * Atomics.store is an xchg there, a full fence that waits for the line, which costs a stream of single
 * messages 40% of its rate. Elsewhere (arm64's weaker ordering) Atomics.store.
 */
const PLAIN_PUBLISH = process.arch === 'x64'
/** Payloads up to this size are copied word by word in JavaScript; larger ones with a native copy. */
const SMALL_BYTES = 64

/** Bytes a ring of `capacity` data bytes takes. */
export function ringBytes(capacity: number): number {
  return RING_HEADER_BYTES + capacity
}

/** Index (in i32 units) of the futex words, for the waiting code. */
export const RING_WORDS = { head: HEAD, tail: TAIL, consumerWaiting: CONSUMER_WAITING, producerWaiting: PRODUCER_WAITING } as const

/**
 * One direction of a channel.
 * @example
 * const ring = new Ring(new SharedArrayBuffer(ringBytes(1024)), 0, 1024)
 * ring.send(new Uint8Array([1, 2, 3])); ring.flush()
 * const message = ring.receive()
 */
export class Ring {
  readonly capacity: number
  /** Largest message accepted: half the capacity, less the length word. */
  readonly messageBytesMax: number
  /** i32 view of the control block (for Atomics and futex waits). */
  readonly words: Int32Array
  readonly #data: Uint8Array
  /** The same bytes as 32-bit words: records are 4-byte aligned, so small payloads move a word at a time. */
  readonly #words: Int32Array
  readonly #mask: number
  readonly #wordMask: number
  readonly #batch: number
  #head: number
  #tail: number
  /** The other side's index as last loaded: reloaded only when it looks full (producer) or empty (consumer). */
  #tailSeen: number
  #headSeen: number
  #unpublished = 0
  #unreleased = 0
  /** The tail last released: past a quarter of the capacity read since, the room is released at once. */
  #releasedTail = 0
  /** The last message sent and a word view of it (undefined when it is not 4-byte aligned or can resize). */
  #source: Uint8Array | undefined
  #sourceWords: Int32Array | undefined
  /** The same for the last target received into. */
  #target: Uint8Array | undefined
  #targetWords: Int32Array | undefined

  /**
   * @param memory the shared memory
   * @param offset where the ring starts in it (a multiple of 64)
   * @param capacity data bytes, a power of two of at least 64
   * @param batch publish every `batch` messages (1: at once); `flush()` publishes the rest
   */
  constructor(memory: ArrayBufferLike, offset: number, capacity: number, batch = 1) {
    if (!Number.isInteger(capacity) || capacity < 64 || (capacity & (capacity - 1)) !== 0 || capacity > 2 ** 30) {
      throw new RangeError(`Invalid ring capacity ${capacity}: expected a power of two from 64 to 2^30`)
    }
    if (offset % 64 !== 0 || offset + ringBytes(capacity) > memory.byteLength) {
      throw new RangeError(`Invalid ring offset ${offset}: expected a multiple of 64 with ${ringBytes(capacity)} bytes after it in ${memory.byteLength}`)
    }
    if (!Number.isInteger(batch) || batch < 1) throw new RangeError(`Invalid batch ${batch}: expected an integer of at least 1`)
    this.capacity = capacity
    this.messageBytesMax = capacity / 2 - LENGTH_BYTES
    this.words = new Int32Array(memory, offset, RING_HEADER_BYTES / 4)
    this.#data = new Uint8Array(memory, offset + RING_HEADER_BYTES, capacity)
    this.#words = new Int32Array(memory, offset + RING_HEADER_BYTES, capacity / 4)
    this.#mask = capacity - 1
    this.#wordMask = capacity / 4 - 1
    this.#batch = batch
    this.#head = Atomics.load(this.words, HEAD) | 0
    this.#tail = Atomics.load(this.words, TAIL) | 0
    this.#tailSeen = this.#tail
    this.#headSeen = this.#head
  }

  /**
   * Appends a message (its first `length` bytes); it becomes visible at the next publish (every `batch`
   * messages, or `flush()`).
   * @returns false when there is no room (nothing is written)
   * @throws RangeError for a message over messageBytesMax
   */
  send(message: Uint8Array, length = message.length): boolean {
    if (length > message.length || length < 0) throw new RangeError(`Invalid length ${length}: expected 0 to the message's ${message.length} bytes`)
    if (length > this.messageBytesMax) {
      throw new RangeError(`Message of ${length} bytes exceeds the ring's messageBytesMax (${this.messageBytesMax} bytes: half the capacity)`)
    }
    const record = (LENGTH_BYTES + length + 3) & ~3
    const head = this.#head
    // Reading the consumer's tail pulls its cache line over: do it only when the ring looks full.
    if (record > this.capacity - ((head - this.#tailSeen) | 0)) {
      this.#tailSeen = Atomics.load(this.words, TAIL) | 0
      if (record > this.capacity - ((head - this.#tailSeen) | 0)) {
        this.flush()
        return false
      }
    }
    const at = head & this.#mask
    const words = this.#words
    words[at >> 2] = length
    const first = (at >> 2) + 1
    if (length <= SMALL_BYTES) {
      // Whole words straight from the message when it is 4-byte aligned (a view of it kept while the same
      // message is sent again, as a loop does); otherwise four bytes packed into each word (a byte loop
      // costs three times as much). The last word's spare bytes are zero, in the record's padding. Word
      // indices wrap by mask, so a wrapped payload needs nothing more.
      const wordMask = this.#wordMask
      const full = length >> 2
      let i = 0
      let w = first
      const source = message === this.#source ? this.#sourceWords : this.#viewSource(message)
      if (source !== undefined) for (; i < full; i++, w++) words[w & wordMask] = source[i]!
      else for (; i < full; i++, w++) words[w & wordMask] = message[i << 2]! | (message[(i << 2) + 1]! << 8) | (message[(i << 2) + 2]! << 16) | (message[(i << 2) + 3]! << 24)
      i <<= 2
      if (i < length) {
        let last = message[i]!
        if (i + 1 < length) last |= message[i + 1]! << 8
        if (i + 2 < length) last |= message[i + 2]! << 16
        words[w & wordMask] = last
      }
    } else {
      const data = this.#data
      const start = (at + LENGTH_BYTES) & this.#mask
      const part = length === message.length ? message : message.subarray(0, length)
      if (start + length <= this.capacity) data.set(part, start)
      else {
        data.set(part.subarray(0, this.capacity - start), start)
        data.set(part.subarray(this.capacity - start), 0)
      }
    }
    this.#head = (head + record) | 0
    if (++this.#unpublished >= this.#batch) this.flush()
    return true
  }

  /** True when every message sent has been published (then the consumer may need waking). */
  get allPublished(): boolean {
    return this.#unpublished === 0
  }
  /** True when the room of every message read has been released (then the producer may need waking). */
  get allReleased(): boolean {
    return this.#unreleased === 0
  }

  /** Publishes every message sent so far. */
  flush(): void {
    if (this.#unpublished === 0) return
    this.#unpublished = 0
    if (PLAIN_PUBLISH) this.words[HEAD] = this.#head | 0
    else Atomics.store(this.words, HEAD, this.#head | 0)
  }

  /** True when a message is waiting to be read. */
  get readable(): boolean {
    if (this.#headSeen !== this.#tail) return true
    this.#headSeen = Atomics.load(this.words, HEAD) | 0
    return this.#headSeen !== this.#tail
  }

  /**
   * Copies the next message into `target`.
   * @returns its length, or -1 when there is none
   * @throws RangeError when `target` is too small (the message stays in the ring)
   */
  receiveInto(target: Uint8Array): number {
    const tail = this.#tail
    if (this.#headSeen === tail && (this.#headSeen = Atomics.load(this.words, HEAD) | 0) === tail) return -1
    const at = tail & this.#mask
    const words = this.#words
    const length = words[at >> 2]!
    if (length > target.length) throw new RangeError(`Message of ${length} bytes does not fit the ${target.length}-byte target`)
    const first = (at >> 2) + 1
    if (length <= SMALL_BYTES) {
      const wordMask = this.#wordMask
      const full = length >> 2
      let i = 0
      let w = first
      const view = target === this.#target ? this.#targetWords : this.#viewTarget(target)
      if (view !== undefined) for (; i < full; i++, w++) view[i] = words[w & wordMask]!
      else {
        for (; i < full; i++, w++) {
          const word = words[w & wordMask]!
          const b = i << 2
          target[b] = word
          target[b + 1] = word >>> 8
          target[b + 2] = word >>> 16
          target[b + 3] = word >>> 24
        }
      }
      i <<= 2
      if (i < length) {
        const word = words[w & wordMask]!
        target[i] = word
        if (i + 1 < length) target[i + 1] = word >>> 8
        if (i + 2 < length) target[i + 2] = word >>> 16
      }
    } else {
      const data = this.#data
      const start = (at + LENGTH_BYTES) & this.#mask
      if (start + length <= this.capacity) target.set(data.subarray(start, start + length), 0)
      else {
        const split = this.capacity - start
        target.set(data.subarray(start, this.capacity), 0)
        target.set(data.subarray(0, length - split), split)
      }
    }
    this.#tail = (tail + ((LENGTH_BYTES + length + 3) & ~3)) | 0
    // Release the room lazily: every 32 messages, or a quarter of the capacity (large messages would fill
    // the ring long before 32 of them were read). The producer looks at the tail only when the ring looks full.
    if (++this.#unreleased >= TAIL_RELEASE_EVERY || ((this.#tail - this.#releasedTail) | 0) >= this.capacity >>> 2) this.release()
    return length
  }

  /** Publishes the consumer's tail: the room of every message read so far is free again. */
  release(): void {
    this.#unreleased = 0
    this.#releasedTail = this.#tail
    Atomics.store(this.words, TAIL, this.#tail | 0)
  }

  /** The next message as a new array, or undefined when there is none. */
  receive(): Uint8Array | undefined {
    const tail = this.#tail
    if (!this.readable) return undefined
    const length = this.#words[(tail & this.#mask) >> 2]!
    const message = new Uint8Array(length)
    this.receiveInto(message)
    return message
  }

  /** Forgets every message: for a ring whose control block was just zeroed (a new peer). */
  reset(): void {
    this.#head = 0
    this.#tail = 0
    this.#tailSeen = 0
    this.#headSeen = 0
    this.#unpublished = 0
    this.#unreleased = 0
    this.#releasedTail = 0
  }

  #viewSource(message: Uint8Array): Int32Array | undefined {
    this.#source = message
    return (this.#sourceWords = wordView(message))
  }

  #viewTarget(target: Uint8Array): Int32Array | undefined {
    this.#target = target
    return (this.#targetWords = wordView(target))
  }

  /** Checks the ring's state: throws when an invariant does not hold (for tests). */
  invariants(): void {
    const head = Atomics.load(this.words, HEAD) >>> 0
    const tail = Atomics.load(this.words, TAIL) >>> 0
    const used = (head - tail) >>> 0
    if (used > this.capacity) throw new Error(`Ring holds ${used} bytes, more than its capacity ${this.capacity}`)
    if (head % 4 !== 0 || tail % 4 !== 0) throw new Error(`Ring indices ${head}/${tail} are not 4-byte aligned`)
    if (this.#unpublished > 0 && ((this.#head - head) >>> 0) > this.capacity) throw new Error('Unpublished bytes exceed the capacity')
    // Walk the records from tail to head: their lengths must add up exactly.
    let at = tail
    while (at !== head) {
      const length = this.#words[(at & this.#mask) >> 2]!
      if (length < 0 || length > this.messageBytesMax) throw new Error(`Record at ${at} has an impossible length ${length}`)
      at = (at + ((LENGTH_BYTES + length + 3) & ~3)) >>> 0
      if (((at - tail) >>> 0) > used) throw new Error(`Records overrun the head at ${at}`)
    }
  }
}

/**
 * The whole 4-byte words of `bytes` as an Int32Array over the same memory, or undefined when its offset is
 * not 4-byte aligned, its buffer can resize (a fixed view of a buffer that shrinks would read nothing), or
 * the machine is big-endian (the byte path packs little-endian). A detached buffer makes both views
 * empty, which the callers' length checks refuse.
 */
function wordView(bytes: Uint8Array): Int32Array | undefined {
  if (!LITTLE_ENDIAN || (bytes.byteOffset & 3) !== 0 || bytes.length < 4) return undefined
  const buffer = bytes.buffer as ArrayBuffer & { growable?: boolean }
  if (buffer.resizable === true || buffer.growable === true) return undefined
  return new Int32Array(buffer, bytes.byteOffset, bytes.length >> 2)
}
