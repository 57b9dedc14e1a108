/*
 * One TCP connection of the epoll backend: a nonblocking socket fd, read and written with system calls
 * through koffi. The write batch, backpressure, drain, end and timeout semantics are the connection core's
 * (../connection-core.ts); this class moves the bytes (test/tcp/transport.test.ts holds every backend to one
 * contract).
 *
 * Reads land in the loop's slab (no copy) and go to `handlers.data` as a view that is never written again.
 * A batch leaves in one send(2), small parts joined in the loop's scratch buffer, large buffers sent from
 * where they are. What the kernel does not take waits in `#unsent` (copied only when it came from the
 * scratch buffer), EPOLLOUT is asked for, and it leaves as the socket drains.
 *
 * `sendFile()` queues a FileSegment in `#unsent`: sendfile(2) sends it from the page cache when its turn
 * comes, as much per call as the socket takes, and EPOLLOUT resumes it.
 *
 * Backpressure: `write()` returns false once the bytes buffered (batch plus unsent) reach the mark, and
 * reading pauses (EPOLLIN dropped from the interest set) until they fall below it; then `drain`. The FIN
 * goes out after the last unsent byte (shutdown(SHUT_WR)); the fd is closed once both sides have ended,
 * or at once on destroy(). `sentBytes` is exact: the sum of what send(2) returned.
 */
import { FileChangedError } from '../../errors.ts'
import type { Handlers, StringEncoding } from '../types.ts'
import { ConnectionCore, type Parts } from '../connection-core.ts'
import {
  EAGAIN, EINTR, EPOLLERR, EPOLLHUP, EPOLLIN, EPOLLOUT, EPOLLRDHUP, MSG_MORE, MSG_NOSIGNAL, SHUT_WR, SO_ERROR, SOL_SOCKET,
  systemError, type Libc,
} from '../../ffi/libc.ts'
import type { EpollLoop, Target } from './loop.ts'
import { decodeAddress, SOCKADDR_BYTES_MAX } from '../../ffi/sockaddr.ts'

export class EpollConnection<Data = unknown> extends ConnectionCore<Data> implements Target {
  readonly #fd: number
  readonly #loop: EpollLoop
  readonly #libc: Libc
  readonly #onClosed: (connection: EpollConnection<Data>) => void
  /** What the kernel has not taken yet, oldest first; the first bytes may be partly sent (`#unsentOffset`). */
  #unsent: (Uint8Array | FileSegment)[] = []
  #unsentOffset = 0
  #unsentBytes = 0
  #sentBytes = 0
  /** The flags of every send(2): MSG_MORE only while the bytes before a file are flushed (sendFile). */
  #sendFlags = MSG_NOSIGNAL
  #interest = EPOLLIN | EPOLLRDHUP
  #finSent = false
  #peerEnded = false
  /** The fd is closed (set first thing in #close, before the core hears of it). */
  #fdClosed = false
  #idleTimeoutMs = 0
  #idleTimer: NodeJS.Timeout | undefined
  #peer: { address: string; port: number } | undefined | null = null

  constructor(fd: number, loop: EpollLoop, handlers: Handlers<Data>, writeBufferBytesHigh: number, stringEncoding: StringEncoding, onClosed: (connection: EpollConnection<Data>) => void) {
    super(handlers, writeBufferBytesHigh, stringEncoding)
    this.#fd = fd
    this.#loop = loop
    this.#libc = loop.libc
    this.#onClosed = onClosed
    loop.add(fd, this, this.#interest)
  }

  /** @internal */
  protected socketRemoteAddress(): string | undefined {
    return this.#peerAddress()?.address
  }
  /** @internal */
  protected socketRemotePort(): number | undefined {
    return this.#peerAddress()?.port
  }
  get localPort(): number | undefined {
    const bytes = Buffer.alloc(SOCKADDR_BYTES_MAX)
    const length = Buffer.alloc(4)
    length.writeUInt32LE(SOCKADDR_BYTES_MAX)
    if (this.#fdClosed || this.#libc.getsockname(this.#fd, bytes, length) !== 0) return undefined
    return decodeAddress(bytes)?.port
  }
  get sentBytes(): number {
    return this.#sentBytes
  }

  /** @internal */
  protected queuedBytes(): number {
    return this.#unsentBytes
  }
  /** @internal */
  protected gone(): boolean {
    return this.#fdClosed
  }

  /** @internal The batch: behind bytes still waiting for the socket, or sent now (the rest waits for EPOLLOUT). */
  protected transmit(text: string, parts: Parts, bytes: number): void {
    if (this.#unsentBytes > 0) {
      // Earlier bytes still wait for the socket: these go behind them, as bytes of their own.
      if (parts.length === 0) this.#queueUnsent(Buffer.from(text, this.stringEncoding))
      else for (const part of parts) this.#queueUnsent(typeof part === 'string' ? Buffer.from(part, this.stringEncoding) : part)
    } else if (parts.length === 0) {
      this.#sendText(text)
    } else {
      this.#sendParts(parts)
    }
    this.#afterSend()
  }

  sendFile(fd: number, position: number, length: number, done: (complete: boolean) => void): void {
    if (!this.#fdClosed && !this.ending) {
      // What was written before the file (a reply's head) leaves with MSG_MORE when the file follows at once:
      // the kernel holds it to fill the file's first segment instead of pushing a small segment of its own
      // (TCP_NODELAY pushes every send). A 32 KiB static file: 0.79x the server's CPU per request.
      if (length > 0 && this.#unsentBytes === 0) this.#sendFlags = MSG_NOSIGNAL | MSG_MORE
      this.flush()
      this.#sendFlags = MSG_NOSIGNAL
    }
    if (this.#fdClosed || this.ending) return done(false)
    if (length === 0) return done(true)
    this.#unsent.push(new FileSegment(fd, position, length, done))
    this.#unsentBytes += length
    if (this.#unsent.length === 1) this.#sendUnsent()
    this.#afterSend()
  }

  /** @internal */
  protected readingChanged(): void {
    this.#updateInterest()
  }

  setTimeout(idleTimeoutMs: number): void {
    this.#idleTimeoutMs = idleTimeoutMs
    clearTimeout(this.#idleTimer)
    this.#idleTimer = idleTimeoutMs > 0 ? setTimeout(onIdle, idleTimeoutMs, this) : undefined
  }

  /** @internal The FIN now, or after the last unsent byte (#afterSend). */
  protected shutdownWrite(): void {
    if (this.#unsentBytes === 0 && !this.#fdClosed) this.#sendFin()
  }

  /** @internal */
  protected destroySocket(): void {
    this.#close()
  }

  /** @internal The loop's report for this fd. */
  onEvents(flags: number): void {
    if (this.#fdClosed) return
    if ((flags & EPOLLERR) !== 0) return this.#fail(this.#socketError())
    if ((flags & EPOLLOUT) !== 0) this.#writable()
    if ((flags & (EPOLLIN | EPOLLRDHUP | EPOLLHUP)) !== 0 && !this.#fdClosed) this.#readable()
  }

  /** @internal Idle timer fired. */
  idle(): void {
    this.#idleTimer = undefined
    if (this.#fdClosed) return
    this.timedOut()
  }

  #readable(): void {
    if (this.#peerEnded || this.readPaused) return
    const count = this.#loop.read(this.#fd)
    if (count > 0) {
      this.#touch()
      return this.received(this.#loop.commitRead(count))
    }
    if (count === 0) return this.#peerEnd()
    const errno = this.#libc.errno()
    if (errno !== EAGAIN && errno !== EINTR) this.#fail(systemError('read', errno))
  }

  /** The peer sent FIN: stop reading; the handlers decide whether more is written (by default, end too). */
  #peerEnd(): void {
    this.#peerEnded = true
    this.#updateInterest()
    if (this.#finSent) return this.#close()
    this.peerEnded()
  }

  #writable(): void {
    this.#sendUnsent()
    this.#afterSend()
  }

  /** Sends one string: encoded into the scratch buffer, or on its own when it is larger. */
  #sendText(text: string): void {
    const scratch = this.#loop.scratch
    const encoding = this.stringEncoding
    const length = encoding === 'latin1' ? text.length : Buffer.byteLength(text)
    if (length > scratch.length) {
      this.#sendBytes(Buffer.from(text, encoding))
      return
    }
    this.#sendScratch(scratch.write(text, 0, encoding))
  }

  /** Sends `parts` in order: small ones joined in the scratch buffer, large buffers from where they are. */
  #sendParts(parts: Parts): void {
    const scratch = this.#loop.scratch
    const encoding = this.stringEncoding
    let used = 0
    for (let i = 0; i < parts.length; i++) {
      const part = parts[i]!
      if (typeof part === 'string') {
        const length = encoding === 'latin1' ? part.length : Buffer.byteLength(part)
        if (length > scratch.length - used) {
          if (!this.#sendScratch(used)) return this.#queueRest(parts, i, Buffer.from(part, encoding))
          used = 0
          if (length > scratch.length) {
            if (!this.#sendBytes(Buffer.from(part, encoding))) return this.#queueRest(parts, i + 1)
            continue
          }
        }
        used += scratch.write(part, used, encoding)
      } else if (part.length <= 4096 && part.length <= scratch.length - used) {
        scratch.set(part, used)
        used += part.length
      } else {
        if (!this.#sendScratch(used)) return this.#queueRest(parts, i)
        used = 0
        if (!this.#sendBytes(part)) return this.#queueRest(parts, i + 1)
      }
    }
    if (!this.#sendScratch(used)) return
  }

  /** Sends the scratch buffer's first `length` bytes; keeps a copy of what the kernel did not take. */
  #sendScratch(length: number): boolean {
    if (length === 0) return true
    const sent = this.#sendAt(this.#loop.scratchAddress, length)
    if (sent === length) return true
    if (sent >= 0) this.#queueUnsent(Buffer.from(this.#loop.scratch.subarray(sent, length)))
    return false
  }

  /** Sends `bytes` (not the scratch buffer); keeps a view of what the kernel did not take. */
  #sendBytes(bytes: Uint8Array): boolean {
    const sent = this.#send(bytes, bytes.length)
    if (sent === bytes.length) return true
    if (sent >= 0) this.#queueUnsent(sent === 0 ? bytes : bytes.subarray(sent))
    return false
  }

  /** One send(2). @returns the bytes taken (0 when the socket is full), or -1 after a failure (closed) */
  #send(bytes: Uint8Array, length: number): number {
    return this.#sent(this.#libc.send(this.#fd, bytes, length, this.#sendFlags))
  }
  /** One send(2) of the bytes at `address` (the loop's scratch buffer), as #send. */
  #sendAt(address: number, length: number): number {
    return this.#sent(this.#libc.sendAt(this.#fd, address, length, this.#sendFlags))
  }
  #sent(sent: number): number {
    if (sent >= 0) {
      this.#sentBytes += sent
      if (sent > 0) this.#touch()
      return sent
    }
    const errno = this.#libc.errno()
    if (errno === EAGAIN || errno === EINTR) return 0
    this.#fail(systemError('write', errno))
    return -1
  }

  /** Parts from `from` on wait for the socket (after `first`, when given). */
  #queueRest(parts: Parts, from: number, first?: Uint8Array): void {
    if (this.#fdClosed) return
    if (first !== undefined) this.#queueUnsent(first)
    for (let i = from; i < parts.length; i++) {
      const part = parts[i]!
      this.#queueUnsent(typeof part === 'string' ? Buffer.from(part, this.stringEncoding) : part)
    }
  }

  #queueUnsent(bytes: Uint8Array): void {
    if (bytes.length === 0) return
    this.#unsent.push(bytes)
    this.#unsentBytes += bytes.length
  }

  #sendUnsent(): void {
    while (this.#unsent.length > 0 && !this.#fdClosed) {
      const first = this.#unsent[0]!
      if (first instanceof FileSegment) {
        if (!this.#sendSegment(first)) return
        this.#unsent.shift()
        first.done(true)
        continue
      }
      const length = first.length - this.#unsentOffset
      const sent = this.#send(this.#unsentOffset === 0 ? first : first.subarray(this.#unsentOffset), length)
      if (sent < 0) return
      this.#unsentBytes -= sent
      if (sent < length) {
        this.#unsentOffset += sent
        return
      }
      this.#unsent.shift()
      this.#unsentOffset = 0
    }
  }

  /** sendfile(2) until the segment is sent or the socket is full. @returns true when all of it was sent */
  #sendSegment(segment: FileSegment): boolean {
    while (segment.left > 0) {
      const sent = this.#libc.sendfile(this.#fd, segment.fd, segment.offset, Math.min(segment.left, SENDFILE_BYTES_MAX))
      if (sent > 0) {
        segment.left -= sent
        this.#unsentBytes -= sent
        this.#sentBytes += sent
        this.#touch()
        continue
      }
      if (sent === 0) {
        this.#fail(new FileChangedError(`The file ended ${segment.left} bytes before the length promised`))
        return false
      }
      const errno = this.#libc.errno()
      if (errno === EINTR) continue
      if (errno !== EAGAIN) this.#fail(systemError('sendfile', errno))
      return false
    }
    return true
  }

  /** After sending: ask for EPOLLOUT while bytes wait; FIN when asked and all is sent; drain when due. */
  #afterSend(): void {
    if (this.#fdClosed) return
    if (this.#unsentBytes === 0 && this.ending && !this.#finSent) this.#sendFin()
    if (this.#fdClosed) return
    this.drained()
    this.#updateInterest()
  }

  #sendFin(): void {
    this.#finSent = true
    this.#libc.shutdown(this.#fd, SHUT_WR)
    if (this.#peerEnded) this.#close()
  }

  #updateInterest(): void {
    if (this.#fdClosed) return
    let interest = 0
    if (!this.#peerEnded && !this.readPaused) interest |= EPOLLIN | EPOLLRDHUP
    if (this.#unsentBytes > 0) interest |= EPOLLOUT
    if (interest === this.#interest) return
    this.#interest = interest
    this.#loop.modify(this.#fd, interest)
  }

  #touch(): void {
    if (this.#idleTimer !== undefined) this.#idleTimer.refresh()
  }

  #socketError(): Error {
    const value = Buffer.alloc(4)
    const length = Buffer.alloc(4)
    length.writeUInt32LE(4)
    this.#libc.getsockopt(this.#fd, SOL_SOCKET, SO_ERROR, value, length)
    return systemError('read', value.readInt32LE(0) || 104)
  }

  #fail(error: Error): void {
    if (this.#fdClosed) return
    this.failed(error)
    this.#close()
  }

  #close(): void {
    if (this.#fdClosed) return
    this.#fdClosed = true
    clearTimeout(this.#idleTimer)
    const unsent = this.#unsent
    this.#unsent = []
    this.#unsentBytes = 0
    for (const part of unsent) if (part instanceof FileSegment) part.done(false)
    this.#loop.remove(this.#fd)
    this.#libc.close(this.#fd)
    this.#onClosed(this)
    this.socketClosed()
  }

  #peerAddress(): { address: string; port: number } | undefined {
    if (this.#peer !== null) return this.#peer
    const bytes = Buffer.alloc(SOCKADDR_BYTES_MAX)
    const length = Buffer.alloc(4)
    length.writeUInt32LE(SOCKADDR_BYTES_MAX)
    this.#peer = !this.#fdClosed && this.#libc.getpeername(this.#fd, bytes, length) === 0 ? decodeAddress(bytes) : undefined
    return this.#peer
  }
}

/** Bytes of an open file that leave by sendfile(2), in their place among the bytes written. */
class FileSegment {
  readonly fd: number
  /** The file offset, as sendfile(2) reads and advances it (an off_t). */
  readonly offset = Buffer.alloc(8)
  left: number
  readonly done: (complete: boolean) => void
  constructor(fd: number, position: number, length: number, done: (complete: boolean) => void) {
    this.fd = fd
    this.offset.writeBigInt64LE(BigInt(position))
    this.left = length
    this.done = done
  }
}

/** At most this much per sendfile(2) call (the socket takes less when it is fuller). */
const SENDFILE_BYTES_MAX = 1 << 30

function flushConnection(connection: EpollConnection<any>): void {
  connection.flush()
}
function onIdle(connection: EpollConnection<any>): void {
  connection.idle()
}
