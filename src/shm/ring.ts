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
 *        │ tail: bytes released (u32)   │  written by the consumer only   ── cache line 1
 *   128  ├──────────────────────────────┤
 *        │ consumerWaiting (i32)        │  1 while the consumer sleeps on `head` (futex word)
 *        │ producerWaiting (i32)        │  1 while the producer sleeps on `tail`
 *        │ producerBatch (i32)          │  the producer's batch when it batches, else 0
 *   192  ├──────────────────────────────┤
 *        │ data: capacity bytes         │  capacity is a power of two, at least 64
 *        │  [len+1 i32][payload][pad]   │  records are 4-byte aligned, so a length word (one native-endian
 *        │  [len+1 i32][payl-           │  word) never straddles the end; a payload may wrap around
 *        │  -oad][pad][0 i32] ...       │  to the start, a whole word at a time
 *        └──────────────────────────────┘
 *
 * A record's length word publishes it. The producer writes a zero where the next record's length word will
 * go, then the payload, then this record's length word (the length plus one, so that an empty message is not
 * zero). The consumer reads the word at its own position: zero means nothing yet; anything else is a whole
 * record, and the word after it is either zero or the next record's. So a consumer that finds a message has
 * touched one cache line, the one it copies the message from, and a ping-pong moves one line each way. (With
 * a head index to look at first, it was two: the head's line, then the data's, one after the other.) The
 * producer also stores `head` at every publish, on its own line, which nobody reads on the way of a message:
 * it is what a sleeping consumer waits on (the futex word) and what `invariants()` walks to. The zeroed word
 * must be free room, so a record needs 4 bytes of room past its end.
 *
 * A producer that batches says so (producerBatch), and its consumer waits the other way: it looks at the
 * head, once a batch, and reads the records before it with plain loads, instead of looking at a length word
 * on the line the producer is still filling with the rest of the batch (which took a stream in batches of 30
 * from 0.72x C to 0.62x). A ping-pong is a producer of one message at a time.
 *
 * The consumer looks with Atomics.load (in Node 26 a call of about 12 ns, which spaces a waiting consumer's
 * looks out: looking faster, with plain loads between, measured slower, each look taking the record's line
 * back from the producer in the middle of its writes). On x64 the publishing stores are plain ones: x64 keeps
 * stores in program order as other cores see them (TSO), which is the release a C ring gets from a plain
 * move, and V8 keeps typed-array stores in program order; an Atomics.store is an xchg there, a full fence
 * that costs a stream of single messages 40% of its rate. Elsewhere (arm64's weaker ordering) Atomics.store.
 * The order of the producer's stores matters as much (#finishRecord): the zero first, so that the payload and
 * the length word go to the record's line in one burst; and after publishing, a zero one cache line past the
 * head takes the next line for the producer while the consumer reads (#publish).
 *
 * The fast paths keep this order: send() reads only the message (its word view, and a DataView for the last
 * partial word) and writes the ring's words as above, zero, payload, length word; receiveInto() loads the
 * record's words (and writes only the caller's target) before #consumed can release its room, with an
 * Atomics.store that comes after them in program order (V8 keeps typed-array accesses in program order).
 *
 * The consumer releases room with one Atomics.store of `tail` every 32 messages or a quarter of the
 * capacity read, whichever comes first, or on `release()`. The quarter is what keeps the two sides live: with
 * less than a quarter unreleased, an empty ring leaves the producer room for the largest message (half the
 * capacity) and its next length word, so a consumer waiting for messages never holds back a producer waiting
 * for room; and no release happens on the roundtrip's path of a ping-pong. The producer keeps the tail as
 * last seen and reloads it only when the ring looks full, so in a stream the tail's cache line moves once
 * per lap, not once per message. With batching, the producer holds back the length word of the first
 * record of a batch (the ones after it are written, unseen behind it) and writes it every `batch` messages
 * or on `flush()`, so the consumer's core sees one publish per batch.
 *
 * A message may be up to half the capacity less its length word; a longer one is a RangeError naming the
 * limit. `send()` returns false when the ring is full; the channel decides whether to spin or sleep.
 */
import assert from 'node:assert/strict'

/** Bytes of the control block before the data. */
export const RING_HEADER_BYTES = 192
const HEAD = 0
const TAIL = 16
const CONSUMER_WAITING = 32
const PRODUCER_WAITING = 33
/** The producer's batch when it batches (more than 1), else 0: how the consumer should wait (receiveInto). */
const PRODUCER_BATCH = 34
const LENGTH_BYTES = 4
const TAIL_RELEASE_EVERY = 32
/** How far past the head a publish takes the next cache line: one line. */
const AHEAD_BYTES = 64
const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1
/** Plain stores to publish: x64 only (see the top of this file). */
const PLAIN_PUBLISH = process.arch === 'x64'
/** Payloads up to this size are copied word by word in JavaScript; larger ones with a native copy. */
const SMALL_BYTES = 64

/**
 * What the fields hold before the constructor sets them. V8 gives a field the representation of the first value
 * stored in it: a field declared without one starts as undefined, and every later load of a number from it
 * is checked for a Smi and untagged, every boolean tested against each falsy value. Starting each field with
 * a value of its kind keeps them Smi, boolean and typed-array fields. (The empty arrays are never a message:
 * they are this module's own.)
 */
const NO_BYTES = new Uint8Array(0)
const NO_WORDS = new Int32Array(0)
const NO_VIEW = new DataView(new ArrayBuffer(0))

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
  readonly capacity: number = 0
  /** Largest message accepted: half the capacity, less the length word. */
  readonly messageBytesMax: number = 0
  /** i32 view of the control block (for Atomics and futex waits). */
  readonly words: Int32Array = NO_WORDS
  readonly #data: Uint8Array = NO_BYTES
  /** The same bytes as 32-bit words: records are 4-byte aligned, so small payloads move a word at a time. */
  readonly #words: Int32Array = NO_WORDS
  readonly #mask: number = 0
  readonly #wordMask: number = 0
  readonly #batch: number = 1
  /** A quarter of the capacity: read past it since the last release, the room is released at once. */
  readonly #quarter: number = 0
  /** Publishing each record at once with plain stores (batch 1, x64): done in send()'s own body. */
  readonly #publishInline: boolean = false
  #head = 0
  #tail = 0
  /** The consumer's tail as last loaded: reloaded only when the ring looks full. */
  #tailSeen = 0
  /**
   * The producer's head as last loaded (loaded only from a batching producer's ring): records before it are
   * published. Kept never behind the tail, so that it cannot look "ahead" of it after 2^31 bytes.
   */
  #headSeen = 0
  #unpublished = 0
  /** Word index and length word of the first record of a batch, held back until the batch is published. */
  #pendingAt = 0
  #pendingWord = 0
  #unreleased = 0
  /** The tail last released: past a quarter of the capacity read since, the room is released at once. */
  #releasedTail = 0
  /** The last message sent that has a word view (4-byte aligned, fixed length), and the view. */
  #source: Uint8Array = NO_BYTES
  #sourceWords: Int32Array = NO_WORDS
  /**
   * send()'s way for the last message sent that has a word view, at the length it was last sent with (at least 4
   * bytes): that length, its record's bytes, the most the ring may hold for it to fit (with the next length word
   * and the line past the head), a view of its bytes to read its last partial word in one load, and the bits of that
   * word that come before the payload's last bytes (32: none, the payload is whole words).
   */
  #sourceLength = -1
  #sourceRecord = 0
  #sourceRoom = 0
  #sourceView: DataView = NO_VIEW
  #sourceSpare = 32
  /** The same for the last target received into. */
  #target: Uint8Array = NO_BYTES
  #targetWords: Int32Array = NO_WORDS
  #targetView: DataView = NO_VIEW

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
    this.#quarter = capacity >>> 2
    this.#publishInline = PLAIN_PUBLISH && batch === 1
    this.#head = Atomics.load(this.words, HEAD) | 0
    this.#tail = Atomics.load(this.words, TAIL) | 0
    this.#tailSeen = this.#tail
    this.#headSeen = this.#tail
    this.#releasedTail = this.#tail
    if (batch > 1) Atomics.store(this.words, PRODUCER_BATCH, batch) // only a producer batches
  }

  /**
   * Appends a message (its first `length` bytes); it becomes visible at the next publish (every `batch`
   * messages, or `flush()`).
   * @returns false when there is no room (nothing is written)
   * @throws RangeError for a message over messageBytesMax
   */
  send(message: Uint8Array, length = message.length): boolean {
    // The way of a small message from the same aligned array as last time (a sending loop's), kept small
    // enough for V8 to inline into the caller; everything else, and every refusal, is #sendAny's.
    // (#source is only ever an array with a word view; room here includes the line past the head, see below.)
    const head = this.#head
    if (message !== this.#source || length !== this.#sourceLength || length > message.length || ((head - this.#tailSeen) | 0) > this.#sourceRoom) {
      return this.#sendAny(message, length)
    }
    const record = this.#sourceRecord
    const source = this.#sourceWords
    const words = this.#words
    const wordMask = this.#wordMask
    const at = (head >> 2) & wordMask
    words[(at + (record >> 2)) & wordMask] = 0 // the next record's length word, first (see #finishRecord)
    const full = length >> 2
    let w = at + 1
    for (let i = 0; i < full; i++, w++) words[w & wordMask] = source[i]!
    const spare = this.#sourceSpare
    if (spare !== 32) words[w & wordMask] = this.#sourceView.getUint32(length - 4, true) >>> spare
    const next = (head + record) | 0
    if (this.#publishInline) {
      // #publish, written out here: a call (or any other store) between the payload's stores and the length
      // word's would leave the record's line to the consumer's looks in between.
      words[at] = length + 1
      this.#head = next
      this.words[HEAD] = next
      words[((next + AHEAD_BYTES) >> 2) & wordMask] = 0
    } else {
      this.#head = next
      this.#finishRecord(at, length)
    }
    return true
  }

  /** Any message: checks it, waits for no one (false when there is no room), copies it in either way. */
  #sendAny(message: Uint8Array, length: number): boolean {
    if (length > message.length || length < 0) throw new RangeError(`Invalid length ${length}: expected 0 to the message's ${message.length} bytes`)
    if (length > this.messageBytesMax) {
      throw new RangeError(`Message of ${length} bytes exceeds the ring's messageBytesMax (${this.messageBytesMax} bytes: half the capacity)`)
    }
    const record = (LENGTH_BYTES + length + 3) & ~3
    const head = this.#head
    // Room for the record and the next one's length word. Reading the consumer's tail pulls its cache line
    // over: do it only when the ring looks full.
    if (record + LENGTH_BYTES > this.capacity - ((head - this.#tailSeen) | 0)) {
      this.#tailSeen = Atomics.load(this.words, TAIL) | 0
      if (record + LENGTH_BYTES > this.capacity - ((head - this.#tailSeen) | 0)) {
        this.flush()
        return false
      }
    }
    const words = this.#words
    const wordMask = this.#wordMask
    const at = (head >> 2) & wordMask
    words[(at + (record >> 2)) & wordMask] = 0 // the next record's length word, first (see #finishRecord)
    if (length <= SMALL_BYTES) {
      // Whole words straight from the message when it is 4-byte aligned (a view of it kept while the same
      // message is sent again, as a loop does); otherwise four bytes packed into each word (a byte loop
      // costs three times as much). The last word's spare bytes are zero, in the record's padding. Word
      // indices wrap by mask, so a wrapped payload needs nothing more.
      const full = length >> 2
      let i = 0
      let w = at + 1
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
      if (source !== undefined && length >= 4) this.#rememberSource(message, length, record)
    } else this.#copyIn(message, length, (head + LENGTH_BYTES) & this.#mask)
    this.#head = (head + record) | 0
    this.#finishRecord(at, length)
    return true
  }

  /**
   * After the payload: publishes the record (or holds it back for the batch). The next record's length word was
   * zeroed before the payload was written, not after: stores become visible in order, so a zero that takes a
   * new cache line (every few records) would hold back the length word behind it for a whole transfer of that
   * line, while the consumer, looking at the record's line, pulls it back and makes the length word wait again.
   */
  #finishRecord(at: number, length: number): void {
    if (this.#batch === 1) this.#publish(at, length + 1)
    else if (this.#unpublished++ === 0) {
      this.#pendingAt = at
      this.#pendingWord = length + 1
    } else {
      this.#words[at] = length + 1 // unseen until the batch's first record is published
      if (this.#unpublished >= this.#batch) this.flush()
    }
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
    this.#publish(this.#pendingAt, this.#pendingWord)
  }

  /**
   * Writes the length word that makes a record (and any behind it) visible, then the head index; then, room
   * allowing, a zero in the cache line after the head's, so that the line is this core's before the next
   * record needs it (only free room is written: nothing reads it before a record is there).
   */
  #publish(at: number, word: number): void {
    const head = this.#head
    if (PLAIN_PUBLISH) {
      this.#words[at] = word
      this.words[HEAD] = head
    } else this.#publishFenced(at, word, head)
    if (((head - this.#tailSeen) | 0) + AHEAD_BYTES + LENGTH_BYTES <= this.capacity) this.#words[((head + AHEAD_BYTES) >> 2) & this.#wordMask] = 0
  }

  /** #publish's stores where plain ones would not be seen in order (not x64). */
  #publishFenced(at: number, word: number, head: number): void {
    Atomics.store(this.#words, at, word)
    Atomics.store(this.words, HEAD, head)
  }

  /** True when a message is waiting to be read. */
  get readable(): boolean {
    const tail = this.#tail
    return this.#look(tail, (tail >> 2) & this.#wordMask) !== 0
  }

  /**
   * Copies the next message into `target`.
   * @returns its length, or -1 when there is none
   * @throws RangeError when `target` is too small (the message stays in the ring)
   */
  receiveInto(target: Uint8Array): number {
    const tail = this.#tail
    const words = this.#words
    const wordMask = this.#wordMask
    const at = (tail >> 2) & wordMask
    const word = this.#look(tail, at)
    if (word === 0) return -1
    const length = word - 1
    // The way of a small message into the same aligned array as last time, kept small enough for V8 to
    // inline; everything else is #receiveAny's.
    // (#target is only ever an array with a word view.)
    // From 4 bytes up (the last partial word goes in with one store over the end of the last whole one).
    if (target !== this.#target || ((length - 4) >>> 0) > SMALL_BYTES - 4 || length > target.length) return this.#receiveAny(target, tail, at, length)
    const view = this.#targetWords
    const full = length >> 2
    let w = at + 1
    let whole = 0
    for (let i = 0; i < full; i++, w++) view[i] = whole = words[w & wordMask]!
    const spare = (length & 3) << 3
    // The last 4 bytes of the message: the whole word's last bytes, then the partial word's first ones.
    if (spare !== 0) this.#targetView.setUint32(length - 4, (whole >>> spare) | (words[w & wordMask]! << (32 - spare)), true)
    this.#consumed(tail, length)
    return length
  }

  /**
   * The length word of the record at `tail` (word `at`) once it is published, else 0: the one look every
   * read makes. Before the head last loaded, a record is published; otherwise a ring fed one message at a
   * time is looked at in the record's own length word, and a batching producer's in its head.
   */
  #look(tail: number, at: number): number {
    if (((this.#headSeen - tail) | 0) > 0) return this.#words[at]!
    return this.words[PRODUCER_BATCH] === 0 ? Atomics.load(this.#words, at) : this.#lookAtHead(tail, at)
  }

  /**
   * For a batching producer: looks at its head (once a batch), not at the record it is still writing.
   * @returns the length word at `at` when the head is past `tail`, else 0
   */
  #lookAtHead(tail: number, at: number): number {
    if ((this.#headSeen = Atomics.load(this.words, HEAD) | 0) === tail) return 0
    return this.#words[at]!
  }

  /** Copies the record of `length` bytes at word `at` into any target, or throws when it does not fit. */
  #receiveAny(target: Uint8Array, tail: number, at: number, length: number): number {
    this.#checkLength(length)
    if (length > target.length) throw new RangeError(`Message of ${length} bytes does not fit the ${target.length}-byte target`)
    if (length <= SMALL_BYTES) {
      const words = this.#words
      const wordMask = this.#wordMask
      const full = length >> 2
      let i = 0
      let w = at + 1
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
    } else this.#copyOut(target, length, (tail + LENGTH_BYTES) & this.#mask)
    this.#consumed(tail, length)
    return length
  }

  /**
   * Moves past a record read. Releases the room lazily: every 32 messages, or a quarter of the capacity (large
   * messages would fill the ring long before 32 of them were read). The producer looks at the tail only when
   * the ring looks full.
   */
  #consumed(tail: number, length: number): void {
    const next = (tail + ((LENGTH_BYTES + length + 3) & ~3)) | 0
    this.#tail = next
    if (((this.#headSeen - next) | 0) < 0) this.#headSeen = next // never behind: a lap of 2^32 would bring it "ahead"
    if (++this.#unreleased >= TAIL_RELEASE_EVERY || ((next - this.#releasedTail) | 0) >= this.#quarter) this.release()
  }

  /** Refuses a length word no producer of this ring writes (memory written by something else): never a huge allocation. */
  #checkLength(length: number): void {
    if (length < 0 || length > this.messageBytesMax) {
      throw new RangeError(`Record of ${length} bytes at ${this.#tail >>> 0} is over this ring's messageBytesMax (${this.messageBytesMax}): its memory was written by something else`)
    }
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
    const word = this.#look(tail, (tail >> 2) & this.#wordMask)
    if (word === 0) return undefined
    this.#checkLength(word - 1)
    const message = new Uint8Array(word - 1)
    this.receiveInto(message)
    return message
  }

  /** Forgets every message and clears the data: for a ring whose control block was just zeroed (a new peer). */
  reset(): void {
    this.#words.fill(0)
    if (this.#batch > 1) Atomics.store(this.words, PRODUCER_BATCH, this.#batch)
    this.#head = 0
    this.#tail = 0
    this.#tailSeen = 0
    this.#headSeen = 0
    this.#unpublished = 0
    this.#unreleased = 0
    this.#releasedTail = 0
  }

  /** Copies a large payload in with a native copy, in two parts when it wraps. */
  #copyIn(message: Uint8Array, length: number, start: number): void {
    const data = this.#data
    const part = length === message.length ? message : message.subarray(0, length)
    if (start + length <= this.capacity) data.set(part, start)
    else {
      data.set(part.subarray(0, this.capacity - start), start)
      data.set(part.subarray(this.capacity - start), 0)
    }
  }

  /** Copies a large payload out with a native copy, in two parts when it wraps. */
  #copyOut(target: Uint8Array, length: number, start: number): void {
    const data = this.#data
    if (start + length <= this.capacity) target.set(data.subarray(start, start + length), 0)
    else {
      const split = this.capacity - start
      target.set(data.subarray(start, this.capacity), 0)
      target.set(data.subarray(0, length - split), split)
    }
  }

  /** send()'s way for `message` at `length` (at least 4 bytes, with a word view): see #sourceLength. */
  #rememberSource(message: Uint8Array, length: number, record: number): void {
    if (this.#sourceLength === length) return // #viewSource forgets it when the message changes
    this.#sourceLength = length
    this.#sourceRecord = record
    this.#sourceRoom = this.capacity - record - LENGTH_BYTES - AHEAD_BYTES
    this.#sourceView = new DataView(message.buffer, message.byteOffset, message.length)
    this.#sourceSpare = (4 - (length & 3)) << 3
  }

  /** A word view of `message`, kept (with it) for the next send when there is one. */
  #viewSource(message: Uint8Array): Int32Array | undefined {
    const view = wordView(message)
    if (view !== undefined) {
      this.#source = message
      this.#sourceWords = view
      this.#sourceLength = -1
    }
    return view
  }

  /** A word view of `target`, kept (with it) for the next receive when there is one. */
  #viewTarget(target: Uint8Array): Int32Array | undefined {
    const view = wordView(target)
    if (view !== undefined) {
      this.#target = target
      this.#targetWords = view
      this.#targetView = new DataView(target.buffer, target.byteOffset, target.length)
    }
    return view
  }

  /** Checks the ring's state: an AssertionError when an invariant does not hold, which is a bug (for tests). */
  invariants(): void {
    const head = Atomics.load(this.words, HEAD) >>> 0
    const tail = Atomics.load(this.words, TAIL) >>> 0
    const used = (head - tail) >>> 0
    if (used > this.capacity - LENGTH_BYTES) assert.fail(`Ring holds ${used} bytes, more than its capacity ${this.capacity} less the next length word`)
    if (head % 4 !== 0 || tail % 4 !== 0) assert.fail(`Ring indices ${head}/${tail} are not 4-byte aligned`)
    if (this.#unpublished > 0 && ((this.#head - head) >>> 0) > this.capacity) assert.fail('Unpublished bytes exceed the capacity')
    // Walk the records from tail to head: their lengths must add up exactly, and the word at the head (the
    // next record's length word, or a held-back batch's first) must say that nothing more is there.
    let at = tail
    while (at !== head) {
      const length = Atomics.load(this.#words, (at & this.#mask) >> 2) - 1
      if (length < 0 || length > this.messageBytesMax) assert.fail(`Record at ${at} has an impossible length ${length}`)
      at = (at + ((LENGTH_BYTES + length + 3) & ~3)) >>> 0
      if (((at - tail) >>> 0) > used) assert.fail(`Records overrun the head at ${at}`)
    }
    const next = Atomics.load(this.#words, (head & this.#mask) >> 2)
    if (next !== 0) assert.fail(`The length word at the head (${head}) is ${next}, not zero: a record past the head would be read`)
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
