/*
 * The connection core: what every backend's connection does the same way, written once. A backend's
 * connection class extends ConnectionCore and keeps only how bytes move: `transmit()` (send a batch),
 * `queuedBytes()` (what it holds that the kernel has not taken), `readingChanged()` (start or stop reading),
 * `shutdownWrite()` (the FIN after the last byte), `destroySocket()`, and the addresses and counters it
 * alone can read. test/tcp/transport.test.ts holds every backend to the contract this implements.
 *
 * Writes are batched: while a read is handled (`received()`), `write()` only queues; when the data handler
 * returns, the batch leaves in one `transmit()`. Writes made outside a read (an async reply) are queued too
 * and leave together on the next tick. Pending strings are concatenated as they come (V8 ropes: no copy
 * until the backend encodes them, measured cheaper than an array join); once bytes are written the batch
 * becomes a part list, handed to the backend whole. The part list is one of two arrays used in turn, so a
 * flush allocates nothing, and a write made while the backend sends (from a handler it calls, as epoll's
 * drain) lands in the other.
 *
 *   batch:  #pendingText (a rope)  |  #pending: [ text, bytes, text, bytes ... ]   (#pendingBytes in all)
 *   then:   backend's own buffer (queuedBytes(): node:net's writable buffer, epoll's unsent list)
 *
 * Backpressure: `write()` returns false as soon as the bytes buffered (the batch plus the backend's buffer)
 * reach `writeBufferBytesHigh`, and reading pauses (`blockWrites()`), so a peer that sends without reading
 * cannot make us buffer replies without bound; a `drain` always follows a false return, once the buffer is
 * below the mark again (`drained()`). `owesDrain()` lets a waiter ask for that drain without writing.
 *
 * Ending: `end()` flushes and asks the backend for the FIN after the last byte; after it `write()` refuses
 * (returns false, sends nothing) on every backend. `destroy(error)` drops what is unsent and closes at once;
 * the error goes to `handlers.close`, not to `handlers.error` (which is for errors of the socket). Without
 * `handlers.end` a connection whose peer half-closes is ended in turn; without `handlers.timeout` an idle
 * one is destroyed.
 *
 * Hot path: `write()` and `flush()` make no allocation of their own, no closure, and call the backend only
 * through methods that every connection of a backend shares (monomorphic where one backend serves).
 */
import type { Connection, Handlers, StringEncoding } from './types.ts'

/** The batch handed to a backend: written parts in order (strings and bytes). */
export type Parts = (string | Uint8Array)[]

export abstract class ConnectionCore<Data = unknown> implements Connection<Data> {
  /** Per-connection state, owned by the handlers. */
  data: Data
  #handlers: Handlers<Data>
  readonly #writeBufferBytesHigh: number
  readonly #stringEncoding: StringEncoding
  /** Strings written since the last bytes: joined as they come (V8 concatenates lazily, as a rope). */
  #pendingText = ''
  /** Set only once bytes are written: the parts in order, strings and bytes. */
  #pending: Parts = []
  /** The other part list, kept for the next flush; undefined while a batch is being sent (then a flush within it makes a new one). */
  #spare: Parts | undefined = []
  #pendingBytes = 0
  #inRead = false
  #flushScheduled = false
  #readPaused = false
  #writeBlocked = false
  /** write() returned false (or owesDrain() said true): the handlers are owed a drain. */
  #drainOwed = false
  #endRequested = false
  #closed = false
  #error: Error | undefined
  /** The peer as a stage before open set it (a PROXY header's source), else undefined: the socket's. */
  #peer: { address: string; port: number } | undefined = undefined

  constructor(handlers: Handlers<Data>, writeBufferBytesHigh: number, stringEncoding: StringEncoding) {
    this.data = undefined as Data
    this.#handlers = handlers
    this.#writeBufferBytesHigh = writeBufferBytesHigh
    this.#stringEncoding = stringEncoding
  }

  abstract readonly localPort: number | undefined
  abstract readonly sentBytes: number
  abstract setTimeout(idleTimeoutMs: number): void

  // What a backend implements: how bytes move (all @internal: none of it is the published interface).
  /** @internal Sends the batch: `parts` is empty when the batch is the one string `text` (then sent as it is). */
  protected abstract transmit(text: string, parts: Parts, bytes: number): void
  /** @internal Bytes the backend holds that the kernel has not taken yet. */
  protected abstract queuedBytes(): number
  /** @internal Starts or stops reading, as `readPaused` now says. */
  protected abstract readingChanged(): void
  /** @internal The FIN, after the bytes still queued (end() has flushed the batch). */
  protected abstract shutdownWrite(): void
  /** @internal Closes the socket at once; the backend calls `socketClosed()` when it is gone. */
  protected abstract destroySocket(): void
  /** @internal True when the socket is gone before the backend has reported it (node:net's destroyed). */
  protected abstract gone(): boolean
  /** @internal The socket's peer address. */
  protected abstract socketRemoteAddress(): string | undefined
  /** @internal The socket's peer port. */
  protected abstract socketRemotePort(): number | undefined

  /** The peer's address: the socket's, or the one a stage before open set (PROXY protocol). */
  get remoteAddress(): string | undefined {
    return this.#peer === undefined ? this.socketRemoteAddress() : this.#peer.address
  }
  get remotePort(): number | undefined {
    return this.#peer === undefined ? this.socketRemotePort() : this.#peer.port
  }
  /** @internal Sets the peer the protocol will see (a stage before open: ./stages.ts). */
  setPeer(address: string, port: number): void {
    this.#peer = { address, port }
  }
  /** @internal Replaces the handlers every later event goes to (./stages.ts, at open). */
  setHandlers(handlers: Handlers<Data>): void {
    this.#handlers = handlers
  }

  /** True once the connection is closed or destroyed. */
  get closed(): boolean {
    return this.#closed || this.gone()
  }
  /** Bytes accepted by `write()` that the kernel has not taken yet. */
  get bufferedBytes(): number {
    return this.#pendingBytes + this.queuedBytes()
  }
  /** True while `write()` would report backpressure: the bytes buffered are at or over the high-water mark. */
  get writeBlocked(): boolean {
    return this.#writeBlocked || this.#pendingBytes + this.queuedBytes() >= this.#writeBufferBytesHigh
  }
  /** True while reading is paused, by `pause()` or by backpressure. */
  get readPaused(): boolean {
    return this.#readPaused || this.#writeBlocked
  }
  /** @internal How strings given to `write()` become bytes. */
  get stringEncoding(): StringEncoding {
    return this.#stringEncoding
  }
  /** True once `end()` was called: no more writes, the FIN follows the last byte. */
  get ending(): boolean {
    return this.#endRequested
  }

  /**
   * @internal True when the connection is backed up, and then a `drain` is sure to follow once it is not;
   * false when writing may go on now.
   */
  owesDrain(): boolean {
    if (this.closed || !this.writeBlocked) return false
    this.#drainOwed = true
    return true
  }

  /**
   * Queues bytes (strings are encoded as the listener's `stringEncoding`, UTF-8 by default). They leave with
   * the rest of this read's writes, or on the next tick when written outside a read.
   * @returns false when the write buffer is over the high-water mark (wait for `drain`), or after end()
   */
  write(bytes: string | Uint8Array): boolean {
    if (this.closed || this.#endRequested) return false
    if (typeof bytes === 'string') this.#pendingText += bytes
    else {
      if (this.#pendingText !== '') {
        this.#pending.push(this.#pendingText)
        this.#pendingText = ''
      }
      this.#pending.push(bytes)
    }
    this.#pendingBytes += bytes.length
    if (!this.#inRead && !this.#flushScheduled) {
      this.#flushScheduled = true
      process.nextTick(flushConnection, this)
    }
    if (!this.writeBlocked) return true
    // Over the mark: reading pauses until the drain that is now owed (the flush may bring it at once).
    this.#drainOwed = true
    this.blockWrites()
    return false
  }

  /** Sends everything queued now, in one send by the backend. */
  flush(): void {
    this.#flushScheduled = false
    if (this.#pendingBytes === 0 || this.closed) return
    const bytes = this.#pendingBytes
    const text = this.#pendingText
    this.#pendingText = ''
    this.#pendingBytes = 0
    const parts = this.#pending
    if (parts.length === 0) return this.transmit(text, parts, bytes)
    if (text !== '') parts.push(text)
    this.#pending = this.#spare ?? []
    this.#spare = undefined
    this.transmit('', parts, bytes)
    parts.length = 0
    this.#spare = parts
  }

  /** Stops reading until `resume()` (backpressure from the reader's side). */
  pause(): void {
    this.#readPaused = true
    this.readingChanged()
  }
  /** Resumes reading, unless writes are still over the high-water mark. */
  resume(): void {
    this.#readPaused = false
    this.readingChanged()
  }

  /** Flushes, then half-closes: sends FIN after the last byte and lets the peer finish. */
  end(bytes?: string | Uint8Array): void {
    if (this.closed || this.#endRequested) return
    if (bytes !== undefined) this.write(bytes)
    this.flush()
    this.#endRequested = true
    this.shutdownWrite()
  }

  /** Closes at once, dropping anything unsent; `error`, when given, goes to `handlers.close`. */
  destroy(error?: Error): void {
    if (this.closed) return
    if (error !== undefined) this.#error = error
    this.#dropBatch()
    this.destroySocket()
  }

  // What a backend calls: the events of its socket.

  /** @internal Bytes arrived: the data handler runs with writes batched, and the batch leaves when it returns. */
  protected received(bytes: Buffer): void {
    this.#inRead = true
    try {
      this.#handlers.data(this, bytes)
    } finally {
      this.#inRead = false
      this.flush()
    }
  }

  /** @internal The buffer is over the mark: stop reading until it drains. */
  protected blockWrites(): void {
    if (this.#writeBlocked) return
    this.#writeBlocked = true
    this.readingChanged()
  }

  /** @internal True when a drain is owed to the handlers (write() returned false since the last one). */
  protected get drainOwed(): boolean {
    return this.#drainOwed
  }

  /**
   * @internal The backend's buffer shrank (its socket drained, or a send took everything): unless the bytes buffered
   * are still over the mark, reading resumes and the drain owed (or due after a block) is delivered.
   */
  protected drained(): void {
    if (this.closed) return
    if (this.#pendingBytes + this.queuedBytes() >= this.#writeBufferBytesHigh) return this.blockWrites()
    if (this.#writeBlocked) {
      this.#writeBlocked = false
      this.readingChanged()
    } else if (!this.#drainOwed) return
    this.#drainOwed = false
    this.#handlers.drain?.(this)
  }

  /** @internal The peer half-closed (FIN): the handlers decide whether more is written; by default, end too. */
  protected peerEnded(): void {
    if (this.#handlers.end) this.#handlers.end(this)
    else this.end()
  }

  /** @internal A socket error: `handlers.error` now, `handlers.close` (with it) when the backend has closed. */
  protected failed(error: Error): void {
    this.#error = error
    this.#handlers.error?.(this, error)
  }

  /** @internal No activity for the idle timeout: `handlers.timeout` decides; by default the connection is destroyed. */
  protected timedOut(): void {
    if (this.#handlers.timeout) this.#handlers.timeout(this)
    else this.destroy()
  }

  /** @internal The socket is gone: `handlers.close` runs, once, with the error that ended it if one did. */
  protected socketClosed(): void {
    if (this.#closed) return
    this.#closed = true
    this.#dropBatch()
    this.#handlers.close?.(this, this.#error)
  }

  #dropBatch(): void {
    this.#pending.length = 0
    this.#pendingText = ''
    this.#pendingBytes = 0
  }
}

function flushConnection(connection: ConnectionCore<unknown>): void {
  connection.flush()
}
