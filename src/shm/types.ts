/* What every channel offers, and the options of `openChannel()`, one interface per kind of channel, so
 * the compiler rejects a process name on a thread channel or a port on a process one. */

/**
 * One side of a duplex message channel, whatever carries it: shared memory between threads or processes
 * (RingChannel), or a TCP connection. `receive()` blocks the calling thread (spinning, then sleeping) until
 * a message comes; `receiveAsync()` waits without blocking, for code on an event loop.
 * @example
 * const channel = await openChannel({ port: 7000, host: '10.0.0.2' })
 * channel.send(new TextEncoder().encode('ping'))
 * const reply = channel.receive()
 * channel.close()
 */
export interface Channel {
  /** 'A' made the channel (created the memory, or listened); 'B' joined it. */
  readonly side: 'A' | 'B'
  /** Largest message this channel carries. */
  readonly messageBytesMax: number
  /** True once this side has closed. */
  readonly closed: boolean
  /**
   * Sends a message (its first `length` bytes), waiting while there is no room.
   * @throws when the peer is gone or the message is over messageBytesMax
   */
  send(message: Uint8Array, length?: number): void
  /** Sends messages held back by batching. */
  flush(): void
  /**
   * The next message, waiting for it.
   * @param timeoutMs give up after this long with a ChannelTimeoutError (default: wait as long as the peer lives)
   */
  receive(timeoutMs?: number): Uint8Array
  /** Copies the next message into `target`, waiting for it; returns its length. */
  receiveInto(target: Uint8Array, timeoutMs?: number): number
  /** The next message, waiting without blocking the thread. */
  receiveAsync(timeoutMs?: number): Promise<Uint8Array>
  /** The next message if one is waiting, without waiting. */
  tryReceive(): Uint8Array | undefined
  /** Closes this side: the peer's waits end with PeerGoneError. */
  close(): void
  /** Checks the channel's internal invariants (for tests). */
  invariants(): void
}

interface CommonChannelOptions {
  /** Data bytes of each ring: a power of two (default 1 MiB). Messages may be up to half of it. */
  bytes?: number
  /** Publish every `batch` messages (default 1: at once); `flush()` publishes the rest. */
  batch?: number
}

/**
 * Side A of a channel between threads: a fresh SharedArrayBuffer; hand `channel.memory` to the worker.
 * @example
 * const channel = await openChannel({ bytes: 1 << 16 })
 */
export interface ThreadChannelOptions extends CommonChannelOptions {
  name?: undefined
  port?: undefined
  memory?: undefined
}

/**
 * Side B of a channel between threads: the `memory` of side A's channel.
 * @example
 * const channel = await openChannel({ memory: workerData.memory })
 */
export interface ThreadPeerChannelOptions {
  memory: SharedArrayBuffer
  batch?: number
  name?: undefined
  port?: undefined
}

/**
 * A channel between processes: a named shared-memory object (through the optional koffi).
 * @example
 * const channel = await openChannel({ name: '/wirespeed-demo', create: true })
 */
export interface ProcessChannelOptions extends CommonChannelOptions {
  /** "/" then letters, digits, ".", "_" or "-". */
  name: string
  /** Create the channel (side A), or open one made by the other side (B). Default: create. */
  create?: boolean
  port?: undefined
  memory?: undefined
}

/**
 * A channel over TCP (length-prefixed frames), with the same interface: `listen: true` accepts one peer on
 * host:port, otherwise it connects to host:port.
 * @example
 * const channel = await openChannel({ port: 7000, host: '10.0.0.2' })
 */
export interface TcpChannelOptions extends CommonChannelOptions {
  port: number
  host?: string
  listen?: boolean
  /** With `listen`: called with the port once listening (useful with port 0). */
  onListening?: (port: number) => void
  name?: undefined
  memory?: undefined
}

export type ChannelOptions = ThreadChannelOptions | ThreadPeerChannelOptions | ProcessChannelOptions | TcpChannelOptions
