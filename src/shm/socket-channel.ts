/*
 * A channel over TCP without a bridge thread (Linux, through koffi): the calling thread owns the socket and
 * blocks on it the way a shared-memory channel blocks on its futex. `send()` writes frames (a 4-byte
 * big-endian length, then the bytes: src/tcp/framing.ts's format, so the other end may be the bridge kind);
 * `receive()` takes a whole frame from what it has read, and when there is none it reads, and when there is
 * nothing to read it waits in poll(2), at most NAP_MS at a time, checking its deadline between naps. The
 * socket is nonblocking throughout: a full send buffer waits in poll for POLLOUT the same way, so a peer that
 * stops reading blocks the sender (backpressure) and one that dies is an error, never a hang.
 * `receiveAsync()` waits in poll on libuv's thread pool (koffi's async call), for code on an event loop.
 *
 * Memory: one receive and one send buffer, each messageBytesMax + 4 bytes (at least 64 KiB). Frames are
 * taken in place from the receive buffer; what is left of a partial frame moves to its start before the
 * next read. With `batch` N, N messages go out in one send (flush() sends the rest), as a ring publishes.
 *
 * Worst case: a message of messageBytesMax costs one copy in (into the send buffer) and one out (receive
 * copies it out of the buffer; receiveInto copies it into the caller's).
 */
import assert from 'node:assert/strict'
import { ChannelClosedError, ChannelTimeoutError, ConnectError, PeerGoneError } from '../errors.ts'
import { resolveHost } from '../tcp/listen.ts'
import {
  EAGAIN, EINPROGRESS, EINTR, IPPROTO_TCP, MSG_NOSIGNAL, SO_ERROR, SO_REUSEADDR, SOCK_CLOEXEC, SOCK_NONBLOCK, SOCK_STREAM,
  SOL_SOCKET, TCP_NODELAY, errnoName, loadLibc, type Libc,
} from '../ffi/libc.ts'
import { boundPort, encodeAddress } from '../ffi/sockaddr.ts'
import type { Channel, TcpChannelOptions } from './types.ts'

const POLLIN = 0x1
const POLLOUT = 0x4
const NAP_MS = 100
const CONNECT_TIMEOUT_MS = 10_000
const HEADER_BYTES = 4
const BUFFER_BYTES_MIN = 64 * 1024

/** The TCP channel of this thread's caller, connected (side B) or accepted (side A). */
export class SocketChannel implements Channel {
  readonly side: 'A' | 'B'
  readonly messageBytesMax: number
  readonly #libc: Libc
  readonly #fd: number
  readonly #batch: number
  readonly #pollfd = Buffer.alloc(8)
  /** Bytes read and not yet taken: [#readAt, #readEnd). */
  #in: Buffer
  #readAt = 0
  #readEnd = 0
  /** Frames not yet sent: [#outAt, #outEnd), and how many messages batching holds back. */
  readonly #out: Buffer
  #outAt = 0
  #outEnd = 0
  #held = 0
  #closed = false
  #peerGone = false

  constructor(libc: Libc, fd: number, side: 'A' | 'B', messageBytesMax: number, batch: number) {
    this.#libc = libc
    this.#fd = fd
    this.side = side
    this.messageBytesMax = messageBytesMax
    this.#batch = batch
    const bytes = Math.max(BUFFER_BYTES_MIN, messageBytesMax + HEADER_BYTES)
    this.#in = Buffer.allocUnsafeSlow(bytes)
    this.#out = Buffer.allocUnsafeSlow(bytes)
    this.#pollfd.writeInt32LE(fd, 0)
  }

  get closed(): boolean {
    return this.#closed
  }

  send(message: Uint8Array, length = message.length): void {
    this.#check()
    if (length > this.messageBytesMax) {
      throw new RangeError(`Message of ${length} bytes exceeds the channel's messageBytesMax (${this.messageBytesMax} bytes: half the capacity)`)
    }
    if (this.#outEnd + HEADER_BYTES + length > this.#out.length) this.#sendAll()
    const out = this.#out
    out.writeUInt32BE(length, this.#outEnd)
    out.set(length === message.length ? message : message.subarray(0, length), this.#outEnd + HEADER_BYTES)
    this.#outEnd += HEADER_BYTES + length
    if (++this.#held >= this.#batch) this.#sendAll()
  }

  flush(): void {
    this.#check()
    this.#sendAll()
  }

  receive(timeoutMs = Infinity): Uint8Array {
    const length = this.#nextFrame(timeoutMs)
    const start = this.#readAt + HEADER_BYTES
    this.#readAt = start + length
    const message = new Uint8Array(length)
    message.set(this.#in.subarray(start, start + length))
    return message
  }

  receiveInto(target: Uint8Array, timeoutMs = Infinity): number {
    const length = this.#nextFrame(timeoutMs)
    if (length > target.length) throw new RangeError(`Message of ${length} bytes does not fit the ${target.length}-byte target`)
    const start = this.#readAt + HEADER_BYTES
    target.set(this.#in.subarray(start, start + length))
    this.#readAt = start + length
    return length
  }

  async receiveAsync(timeoutMs = Infinity): Promise<Uint8Array> {
    const deadline = performance.now() + timeoutMs
    for (;;) {
      const message = this.tryReceive()
      if (message !== undefined) return message
      const left = deadline - performance.now()
      if (left <= 0) throw new ChannelTimeoutError(`No message on the TCP channel within ${timeoutMs} ms`)
      await waitAsync(this.#libc, this.#fd, POLLIN, Math.min(NAP_MS, left))
    }
  }

  tryReceive(): Uint8Array | undefined {
    this.#check()
    if (this.#frameLength() < 0) {
      this.#read()
      if (this.#frameLength() < 0) {
        if (this.#peerGone) throw this.#goneError()
        return undefined
      }
    }
    return this.receive(0)
  }

  close(): void {
    if (this.#closed) return
    if (!this.#peerGone) {
      try {
        this.#sendAll()
      } catch (error) {
        if (!(error instanceof PeerGoneError)) throw error
      }
    }
    this.#closed = true
    // Unread bytes at close would make the kernel reset the connection, and a reset can cut off what we
    // sent last: read them away first, then send our FIN and close.
    this.#drainUnread()
    this.#libc.shutdown(this.#fd, 1)
    this.#libc.close(this.#fd)
  }

  invariants(): void {
    const ok = 0 <= this.#readAt && this.#readAt <= this.#readEnd && this.#readEnd <= this.#in.length && 0 <= this.#outAt && this.#outAt <= this.#outEnd && this.#outEnd <= this.#out.length
    if (!ok) assert.fail(`SocketChannel invariants broken: read ${this.#readAt}-${this.#readEnd} of ${this.#in.length}, out ${this.#outAt}-${this.#outEnd} of ${this.#out.length}`)
  }

  /** Length of the whole frame at #readAt, or -1 while it has not all arrived. */
  #frameLength(): number {
    const available = this.#readEnd - this.#readAt
    if (available < HEADER_BYTES) return -1
    const length = this.#in.readUInt32BE(this.#readAt)
    if (length > this.messageBytesMax) {
      this.#peerGone = true
      throw new PeerGoneError(`The other side of the TCP channel sent a frame of ${length} bytes, over messageBytesMax (${this.messageBytesMax}): a channel of another size, or not a channel`)
    }
    return available >= HEADER_BYTES + length ? length : -1
  }

  /** Waits for a whole frame. @returns its payload length */
  #nextFrame(timeoutMs: number): number {
    this.#check()
    let deadline = 0
    for (;;) {
      const length = this.#frameLength()
      if (length >= 0) return length
      if (this.#read() > 0) continue
      if (this.#peerGone) throw this.#goneError()
      if (deadline === 0) deadline = timeoutMs === Infinity ? Infinity : performance.now() + timeoutMs
      const left = deadline - performance.now()
      if (left <= 0) throw new ChannelTimeoutError(`No message on the TCP channel within ${timeoutMs} ms`)
      this.#wait(POLLIN, Math.ceil(Math.min(NAP_MS, left)))
    }
  }

  /** One nonblocking read into the free end of the receive buffer. @returns bytes read (0: none now) */
  #read(): number {
    if (this.#peerGone) return 0
    if (this.#readAt === this.#readEnd) this.#readAt = this.#readEnd = 0
    else if (this.#readEnd === this.#in.length) {
      // A partial frame at the end: move it to the start (a frame always fits the buffer whole).
      this.#in.copy(this.#in, 0, this.#readAt, this.#readEnd)
      this.#readEnd -= this.#readAt
      this.#readAt = 0
    }
    const got = this.#libc.read(this.#fd, this.#in.subarray(this.#readEnd), this.#in.length - this.#readEnd)
    if (got > 0) {
      this.#readEnd += got
      return got
    }
    if (got === 0) this.#peerGone = true
    else {
      const errno = this.#libc.errno()
      if (errno !== EAGAIN && errno !== EINTR) this.#peerGone = true
    }
    return 0
  }

  /** Sends every queued frame, waiting in poll while the socket's buffer is full. */
  #sendAll(): void {
    const libc = this.#libc
    while (this.#outAt < this.#outEnd) {
      const sent = libc.send(this.#fd, this.#out.subarray(this.#outAt, this.#outEnd), this.#outEnd - this.#outAt, MSG_NOSIGNAL)
      if (sent > 0) {
        this.#outAt += sent
        continue
      }
      const errno = libc.errno()
      if (sent < 0 && errno === EINTR) continue
      if (sent < 0 && errno !== EAGAIN) {
        this.#peerGone = true
        throw new PeerGoneError(`The other side of the TCP channel is gone (${errnoName(errno)})`)
      }
      this.#wait(POLLOUT, NAP_MS)
    }
    this.#outAt = this.#outEnd = 0
    this.#held = 0
  }

  #wait(events: number, timeoutMs: number): void {
    this.#pollfd.writeInt16LE(events, 4)
    this.#pollfd.writeInt16LE(0, 6)
    this.#libc.poll(this.#pollfd, 1, timeoutMs)
  }

  #drainUnread(): void {
    const scratch = this.#in
    while (this.#libc.read(this.#fd, scratch, scratch.length) > 0) {}
  }

  #goneError(): PeerGoneError {
    return new PeerGoneError('The other side of the TCP channel closed it')
  }

  #check(): void {
    if (this.#closed) throw new ChannelClosedError('The TCP channel is closed')
  }
}

/**
 * Opens a TCP channel on this thread: connects to host:port (side B), or with `listen` accepts one peer
 * there (side A) and stops listening. Waits (connect, accept) happen on the thread pool, so the event loop
 * goes on meanwhile.
 */
export async function openSocketChannel(options: TcpChannelOptions & { bytes: number; batch: number }): Promise<SocketChannel> {
  const libc = await loadLibc()
  const host = await resolveHost(options.host ?? '127.0.0.1')
  const address = encodeAddress(host, options.port)
  // The same bound as a ring of `bytes` carries (ring.ts: half the capacity, less its length word).
  const messageBytesMax = options.bytes / 2 - 4
  const fd = libc.socket(address.family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)
  if (fd < 0) throw new ConnectError(`Cannot open a socket: ${errnoName(libc.errno())}`, errnoName(libc.errno()))
  const one = Buffer.alloc(4)
  one.writeInt32LE(1)
  try {
    if (options.listen) {
      libc.setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, one, 4)
      if (libc.bind(fd, address.bytes, address.bytes.length) !== 0 || libc.listen(fd, 1) !== 0) {
        const code = errnoName(libc.errno())
        throw new ConnectError(`Cannot listen on ${host}:${options.port} for a TCP channel: ${code}`, code)
      }
      options.onListening?.(boundPort(libc, fd))
      await waitAsync(libc, fd, POLLIN, Infinity)
      const accepted = libc.accept4(fd, null, null, SOCK_NONBLOCK | SOCK_CLOEXEC)
      if (accepted < 0) {
        const code = errnoName(libc.errno())
        throw new ConnectError(`Cannot accept the TCP channel's peer: ${code}`, code)
      }
      libc.close(fd)
      libc.setsockopt(accepted, IPPROTO_TCP, TCP_NODELAY, one, 4)
      return new SocketChannel(libc, accepted, 'A', messageBytesMax, options.batch)
    }
    if (libc.connect(fd, address.bytes, address.bytes.length) !== 0 && libc.errno() !== EINPROGRESS) {
      const code = errnoName(libc.errno())
      throw new ConnectError(`Cannot connect a TCP channel to ${host}:${options.port}: ${code}`, code)
    }
    if (!(await waitAsync(libc, fd, POLLOUT, CONNECT_TIMEOUT_MS))) throw new ConnectError(`Cannot connect a TCP channel to ${host}:${options.port}: no answer within ${CONNECT_TIMEOUT_MS} ms`, 'ETIMEDOUT')
    const error = Buffer.alloc(4)
    const length = Buffer.alloc(4)
    length.writeUInt32LE(4)
    libc.getsockopt(fd, SOL_SOCKET, SO_ERROR, error, length)
    if (error.readInt32LE(0) !== 0) {
      const code = errnoName(error.readInt32LE(0))
      throw new ConnectError(`Cannot connect a TCP channel to ${host}:${options.port}: ${code}`, code)
    }
    libc.setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, one, 4)
    return new SocketChannel(libc, fd, 'B', messageBytesMax, options.batch)
  } catch (error) {
    libc.close(fd)
    throw error
  }
}

/** Waits on the thread pool until `fd` is ready for `events`. @returns false when `timeoutMs` passed first */
async function waitAsync(libc: Libc, fd: number, events: number, timeoutMs: number): Promise<boolean> {
  const pollfd = Buffer.alloc(8)
  pollfd.writeInt32LE(fd, 0)
  pollfd.writeInt16LE(events, 4)
  const deadline = performance.now() + timeoutMs
  for (;;) {
    const left = deadline - performance.now()
    if (left <= 0) return false
    const ready = await new Promise<number>((resolve) => libc.poll.async(pollfd, 1, Math.ceil(Math.min(NAP_MS, left)), (_error: unknown, count: number) => resolve(count)))
    if (ready > 0) return true
  }
}
