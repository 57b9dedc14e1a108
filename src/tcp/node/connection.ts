/*
 * One TCP connection on node:net (the portable backend): how bytes move on a node:net socket. The write
 * batch, backpressure, drain, end and timeout semantics are the connection core's (../connection-core.ts);
 * this class sends a batch with `socket.write()`, reads through the socket's events, and reads its counters.
 *
 * Every socket of a server gets the same six listener functions (module-level, using `this`), which find the
 * Connection through a symbol on the socket and call the server's one handlers object. No closure is made per
 * socket, and per-connection state lives in `connection.data`.
 *
 * A batch leaves in one `socket.write()`: a lone string or buffer as it is, small mixed parts copied into one
 * buffer (`copyParts` for Latin-1), and above 16 KiB corked, part by part, as one writev. When the socket
 * takes the whole batch at once it emits no drain, so an owed drain is emitted on the next turn instead.
 * Worst case held per connection: the mark plus the last write plus the socket's readable buffer.
 *
 * Progress: `sentBytes` counts the bytes the kernel has taken. Deadlines above this layer compare it between
 * sweeps, so that a connection still delivering to a slow reader is never taken for idle, and a peer that
 * stops reading is told apart by no progress at all. On node:net it is the socket's dispatched bytes less
 * libuv's write queue (`handle.writeQueueSize`, the same figure Node's own socket timeout uses to tell an
 * active write from a stalled one); where a runtime lacks those, bytes flushed less bytes still buffered.
 */
import type { Socket } from 'node:net'
import type { Handlers, StringEncoding } from '../types.ts'
import { ConnectionCore, type Parts } from '../connection-core.ts'
import { copyParts } from '../copy-parts.ts'

/** A batch mixing strings and bytes is copied into one buffer up to this size, and written with writev above. */
const COPY_BYTES_MAX = 16 * 1024

const kConnection = Symbol('wirespeed.connection')
type SocketWithConnection = Socket & { [kConnection]: NodeConnection<any> }

/** A TCP connection on a node:net socket, seen through its handlers. */
export class NodeConnection<Data = unknown> extends ConnectionCore<Data> {
  readonly #socket: Socket
  /** Bytes handed to the socket since the connection opened (sentBytes where the runtime has no counters). */
  #flushedBytes = 0

  constructor(socket: Socket, handlers: Handlers<Data>, writeBufferBytesHigh: number, stringEncoding: StringEncoding = 'utf8') {
    super(handlers, writeBufferBytesHigh, stringEncoding)
    this.#socket = socket
    ;(socket as SocketWithConnection)[kConnection] = this
    socket.on('data', onSocketData)
    socket.on('drain', onSocketDrain)
    socket.on('end', onSocketEnd)
    socket.on('error', onSocketError)
    socket.on('close', onSocketClose)
    socket.on('timeout', onSocketTimeout)
  }

  /** @internal */
  protected socketRemoteAddress(): string | undefined {
    return this.#socket.remoteAddress
  }
  /** @internal */
  protected socketRemotePort(): number | undefined {
    return this.#socket.remotePort
  }
  get localPort(): number | undefined {
    return this.#socket.localPort
  }
  /** Bytes the kernel has taken since the connection opened: grows as a peer reads, however slowly. */
  get sentBytes(): number {
    const socket = this.#socket as Socket & { _bytesDispatched?: number; _handle?: { writeQueueSize?: number } | null }
    const dispatched = socket._bytesDispatched
    const queued = socket._handle?.writeQueueSize
    if (typeof dispatched === 'number' && typeof queued === 'number') return dispatched - queued
    return this.#flushedBytes - socket.writableLength
  }

  /** Closes after the idle time with no activity (0 turns it off); `handlers.timeout` decides what to do. */
  setTimeout(idleTimeoutMs: number): void {
    this.#socket.setTimeout(idleTimeoutMs)
  }

  /** @internal */
  protected queuedBytes(): number {
    return this.#socket.writableLength
  }
  /** @internal */
  protected gone(): boolean {
    return this.#socket.destroyed
  }

  /** @internal The batch in one socket write (one writev when large buffers are queued). */
  protected transmit(text: string, parts: Parts, bytes: number): void {
    const socket = this.#socket
    this.#flushedBytes += bytes
    let flowing: boolean
    if (parts.length === 0) flowing = socket.write(text, this.stringEncoding)
    else if (parts.length === 1 && typeof parts[0] !== 'string') flowing = socket.write(parts[0]!)
    else if (bytes <= COPY_BYTES_MAX) flowing = socket.write(this.#join(parts, bytes))
    else {
      // Large buffers (a file's body) are not copied: corked writes leave as one writev.
      socket.cork()
      for (const part of parts) typeof part === 'string' ? socket.write(part, this.stringEncoding) : socket.write(part)
      flowing = socket.writableLength < socket.writableHighWaterMark
      socket.uncork()
    }
    if (!flowing) this.blockWrites()
    // The kernel took the whole batch at once, so the socket emits no drain: emit ours.
    else if (this.drainOwed) setImmediate(emitDrain, this)
  }

  /** @internal */
  protected readingChanged(): void {
    if (this.readPaused) this.#socket.pause()
    else this.#socket.resume()
  }

  /** @internal */
  protected shutdownWrite(): void {
    this.#socket.end()
  }

  /** @internal */
  protected destroySocket(): void {
    this.#socket.destroy()
  }

  #toBytes(part: string | Uint8Array): Uint8Array {
    return typeof part === 'string' ? Buffer.from(part, this.stringEncoding) : part
  }

  /** The parts copied into one buffer: in place for Latin-1 (a string's length is its byte count). */
  #join(parts: Parts, bytes: number): Buffer {
    if (this.stringEncoding !== 'latin1') return Buffer.concat(parts.map(this.#toBytes, this))
    const joined = Buffer.allocUnsafe(bytes)
    copyParts(joined, parts)
    return joined
  }

  /** @internal */
  handleData(bytes: Buffer): void {
    this.received(bytes)
  }
  /** @internal */
  handleDrain(): void {
    this.drained()
  }
  /** @internal */
  handleEnd(): void {
    this.peerEnded()
  }
  /** @internal */
  handleError(error: Error): void {
    this.failed(error)
  }
  /** @internal */
  handleClose(): void {
    this.socketClosed()
  }
  /** @internal */
  handleTimeout(): void {
    this.timedOut()
  }
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
