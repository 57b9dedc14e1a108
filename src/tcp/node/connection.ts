/*
 * One TCP connection on node:net (the portable backend): batched writes, backpressure, and the bridge from
 * socket events to a shared handlers object.
 *
 * Every socket of a server gets the same six listener functions (module-level, using `this`), which find the
 * Connection through a symbol on the socket and call the server's one handlers object. No closure is made per
 * socket, and per-connection state lives in `connection.data`.
 *
 * Writes are batched: while a read is being handled, `write()` only queues; when the handler returns, the
 * queue leaves in one `socket.write()`. Writes made outside a read (an async reply) are queued too and leave
 * together on the next tick. Pending strings are concatenated as they come (V8 ropes: no copy until the
 * socket encodes them, measured cheaper than an array join); a mix of strings and bytes is concatenated once.
 *
 * Backpressure: `write()` returns false as soon as the bytes buffered for the connection (the batch not yet
 * flushed plus the socket's own buffer) reach `writeBufferBytesHigh`, so a loop that writes until told to
 * stop holds about the mark whatever its chunk size; a `drain` always follows a false return, once the
 * buffer is below the mark again. When a flush leaves the socket over the mark, reading pauses too, so a peer
 * that sends without reading cannot make us buffer replies without bound. Worst case held per connection:
 * the mark plus the last write plus the socket's readable buffer.
 *
 * Progress: `sentBytes` counts the bytes the kernel has taken. Deadlines above this layer compare it between
 * sweeps, so that a connection still delivering to a slow reader is never taken for idle, and a peer that
 * stops reading is told apart by no progress at all. On node:net it is the socket's dispatched bytes less
 * libuv's write queue (`handle.writeQueueSize`, the same figure Node's own socket timeout uses to tell an
 * active write from a stalled one); where a runtime lacks those, whole writes completed.
 */
import type { Socket } from 'node:net'
import type { Connection, Handlers, StringEncoding } from '../types.ts'
import { copyParts } from '../copy-parts.ts'

/** A batch mixing strings and bytes is copied into one buffer up to this size, and written with writev above. */
const COPY_BYTES_MAX = 16 * 1024

const kConnection = Symbol('wirespeed.connection')
type SocketWithConnection = Socket & { [kConnection]: NodeConnection<any> }

/** A TCP connection on a node:net socket, seen through its handlers. */
export class NodeConnection<Data = unknown> implements Connection<Data> {
  /** Per-connection state, owned by the handlers. */
  data: Data
  readonly #socket: Socket
  readonly #handlers: Handlers<Data>
  readonly #writeBufferBytesHigh: number
  readonly #stringEncoding: StringEncoding
  /** Strings written since the last bytes: joined as they come (V8 concatenates lazily, as a rope). */
  #pendingText = ''
  /** Set only once bytes are written: the parts in order, strings and bytes. */
  #pending: (string | Uint8Array)[] = []
  #pendingBytes = 0
  /** Bytes accepted by write() since the connection opened. */
  #writtenBytes = 0
  #inRead = false
  #flushScheduled = false
  #readPaused = false
  #writeBlocked = false
  /** write() returned false: the handlers are owed a drain. */
  #drainOwed = false
  #closed = false
  #error: Error | undefined

  constructor(socket: Socket, handlers: Handlers<Data>, writeBufferBytesHigh: number, stringEncoding: StringEncoding = 'utf8') {
    this.#socket = socket
    this.#handlers = handlers
    this.#writeBufferBytesHigh = writeBufferBytesHigh
    this.#stringEncoding = stringEncoding
    this.data = undefined as Data
    ;(socket as SocketWithConnection)[kConnection] = this
    socket.on('data', onSocketData)
    socket.on('drain', onSocketDrain)
    socket.on('end', onSocketEnd)
    socket.on('error', onSocketError)
    socket.on('close', onSocketClose)
    socket.on('timeout', onSocketTimeout)
  }

  get remoteAddress(): string | undefined {
    return this.#socket.remoteAddress
  }
  get remotePort(): number | undefined {
    return this.#socket.remotePort
  }
  get localPort(): number | undefined {
    return this.#socket.localPort
  }
  /** True once the connection is closed or destroyed. */
  get closed(): boolean {
    return this.#closed || this.#socket.destroyed
  }
  /** Bytes accepted by `write()` that the kernel has not taken yet. */
  get bufferedBytes(): number {
    return this.#pendingBytes + this.#socket.writableLength
  }
  /** Bytes the kernel has taken since the connection opened: grows as a peer reads, however slowly. */
  get sentBytes(): number {
    const socket = this.#socket as Socket & { _bytesDispatched?: number; _handle?: { writeQueueSize?: number } | null }
    const dispatched = socket._bytesDispatched
    const queued = socket._handle?.writeQueueSize
    if (typeof dispatched === 'number' && typeof queued === 'number') return dispatched - queued
    return this.#writtenBytes - this.bufferedBytes
  }
  /** True while `write()` would report backpressure: the bytes buffered are at or over the high-water mark. */
  get writeBlocked(): boolean {
    return this.#writeBlocked || this.#pendingBytes + this.#socket.writableLength >= this.#writeBufferBytesHigh
  }
  /**
   * True when the connection is backed up, and then a `drain` is sure to follow once it is not; false when
   * writing may go on now.
   */
  owesDrain(): boolean {
    if (this.closed || !this.writeBlocked) return false
    this.#drainOwed = true
    return true
  }

  /**
   * Queues bytes (strings are encoded as the listener's `stringEncoding`, UTF-8 by default). They leave with
   * the rest of this read's writes, or on the next tick when written outside a read.
   * @returns false when the write buffer is over the high-water mark: wait for `drain` before writing more
   */
  write(bytes: string | Uint8Array): boolean {
    if (this.closed) return false
    if (typeof bytes === 'string') this.#pendingText += bytes
    else {
      if (this.#pendingText !== '') {
        this.#pending.push(this.#pendingText)
        this.#pendingText = ''
      }
      this.#pending.push(bytes)
    }
    this.#pendingBytes += bytes.length
    this.#writtenBytes += bytes.length
    if (!this.#inRead && !this.#flushScheduled) {
      this.#flushScheduled = true
      process.nextTick(flushConnection, this)
    }
    if (!this.writeBlocked) return true
    // Over the mark: reading pauses until the drain that is now owed (the flush may bring it at once).
    this.#drainOwed = true
    if (!this.#writeBlocked) {
      this.#writeBlocked = true
      this.#socket.pause()
    }
    return false
  }

  /** Sends everything queued now, in one socket write (one writev when large buffers are queued). */
  flush(): void {
    this.#flushScheduled = false
    if (this.#pendingBytes === 0 || this.closed) return
    const socket = this.#socket
    const pending = this.#pending
    let flowing: boolean
    if (pending.length === 0) flowing = socket.write(this.#pendingText, this.#stringEncoding)
    else {
      if (this.#pendingText !== '') pending.push(this.#pendingText)
      if (pending.length === 1 && typeof pending[0] !== 'string') flowing = socket.write(pending[0]!)
      else if (this.#pendingBytes <= COPY_BYTES_MAX) flowing = socket.write(this.#join(pending))
      else {
        // Large buffers (a file's body) are not copied: corked writes leave as one writev.
        socket.cork()
        for (const part of pending) typeof part === 'string' ? socket.write(part, this.#stringEncoding) : socket.write(part)
        flowing = socket.writableLength < socket.writableHighWaterMark
        socket.uncork()
      }
      pending.length = 0
    }
    this.#pendingText = ''
    this.#pendingBytes = 0
    if (!flowing) {
      if (!this.#writeBlocked) {
        this.#writeBlocked = true
        socket.pause()
      }
    } else if (this.#drainOwed) {
      // The kernel took the whole batch at once, so the socket emits no drain: emit ours.
      setImmediate(emitDrain, this)
    }
  }

  /** Stops reading from the socket until `resume()` (backpressure from the reader's side). */
  pause(): void {
    this.#readPaused = true
    this.#socket.pause()
  }
  /** Resumes reading, unless writes are still over the high-water mark. */
  resume(): void {
    this.#readPaused = false
    if (!this.#writeBlocked) this.#socket.resume()
  }
  /** True while reading is paused, by `pause()` or by backpressure. */
  get readPaused(): boolean {
    return this.#readPaused || this.#writeBlocked
  }

  /** Closes after the idle time with no activity (0 turns it off); `handlers.timeout` decides what to do. */
  setTimeout(idleTimeoutMs: number): void {
    this.#socket.setTimeout(idleTimeoutMs)
  }

  /** Flushes, then half-closes: sends FIN and lets the peer finish (the socket closes when it does). */
  end(bytes?: string | Uint8Array): void {
    if (bytes !== undefined) this.write(bytes)
    this.flush()
    this.#socket.end()
  }

  /** Closes at once, dropping anything unsent. */
  destroy(error?: Error): void {
    this.#pending.length = 0
    this.#pendingText = ''
    this.#pendingBytes = 0
    this.#socket.destroy(error)
  }

  #toBytes(part: string | Uint8Array): Uint8Array {
    return typeof part === 'string' ? Buffer.from(part, this.#stringEncoding) : part
  }

  /** The parts copied into one buffer: in place for Latin-1 (a string's length is its byte count). */
  #join(parts: (string | Uint8Array)[]): Buffer {
    if (this.#stringEncoding !== 'latin1') return Buffer.concat(parts.map(this.#toBytes, this))
    const joined = Buffer.allocUnsafe(this.#pendingBytes)
    copyParts(joined, parts)
    return joined
  }

  /** @internal Runs the data handler with writes batched. */
  handleData(bytes: Buffer): void {
    this.#inRead = true
    try {
      this.#handlers.data(this, bytes)
    } finally {
      this.#inRead = false
      this.flush()
    }
  }
  /** @internal */
  handleDrain(): void {
    if (this.closed) return
    if (this.#writeBlocked) {
      this.#writeBlocked = false
      if (!this.#readPaused) this.#socket.resume()
    }
    // Writes made since may have filled the batch again: their flush brings the drain that is owed.
    if (this.writeBlocked) return
    this.#drainOwed = false
    this.#handlers.drain?.(this)
  }
  /** @internal */
  handleEnd(): void {
    if (this.#handlers.end) this.#handlers.end(this)
    else this.end()
  }
  /** @internal */
  handleError(error: Error): void {
    this.#error = error
    this.#handlers.error?.(this, error)
  }
  /** @internal */
  handleClose(): void {
    if (this.#closed) return
    this.#closed = true
    this.#pending.length = 0
    this.#pendingText = ''
    this.#handlers.close?.(this, this.#error)
  }
  /** @internal */
  handleTimeout(): void {
    if (this.#handlers.timeout) this.#handlers.timeout(this)
    else this.destroy()
  }
}

function flushConnection(connection: NodeConnection<unknown>): void {
  connection.flush()
}
function emitDrain(connection: NodeConnection<unknown>): void {
  connection.handleDrain()
}

// The listeners every socket shares: `this` is the socket.
function onSocketData(this: SocketWithConnection, bytes: Buffer): void {
  this[kConnection].handleData(bytes)
}
function onSocketDrain(this: SocketWithConnection): void {
  this[kConnection].handleDrain()
}
function onSocketEnd(this: SocketWithConnection): void {
  this[kConnection].handleEnd()
}
function onSocketError(this: SocketWithConnection, error: Error): void {
  this[kConnection].handleError(error)
}
function onSocketClose(this: SocketWithConnection): void {
  this[kConnection].handleClose()
}
function onSocketTimeout(this: SocketWithConnection): void {
  this[kConnection].handleTimeout()
}
