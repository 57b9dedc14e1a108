/*
 * The TCP layer's interface, the same for every backend (the registry, ./backends.ts, lists them): one
 * handlers object per server, and connections that batch writes, report backpressure, and say how far
 * delivery has got. test/tcp/transport.test.ts runs one contract over every backend.
 */

/**
 * What a server or client does with its connections. One object serves every connection; keep
 * per-connection state in `connection.data`.
 * @example
 * const handlers: Handlers = { data(connection, bytes) { connection.write(bytes) } }
 */
export interface Handlers<Data = unknown> {
  /** A connection is established (accepted, or connected). */
  open?(connection: Connection<Data>): void
  /**
   * Bytes arrived. Everything written during this call leaves in one write when it returns.
   *
   * Lifetime: `bytes` are the handler's to keep, for as long as it likes. No transport writes into them
   * again after handing them over (the HTTP layer's requests and the WebSocket frame reader keep views of
   * them rather than copies). A backend that reads into buffers it reuses (io_uring's provided buffers)
   * must therefore copy out of a buffer before it recycles it, or hand out only memory it retires for good
   * (epoll reads into a slab whose used part is never read into again).
   */
  data(connection: Connection<Data>, bytes: Buffer): void
  /** The write buffer fell below the high-water mark after `write()` had returned false. */
  drain?(connection: Connection<Data>): void
  /** The peer half-closed (sent FIN). Without this handler the connection is ended in turn. */
  end?(connection: Connection<Data>): void
  /** The connection is gone; `error` is set when it ended by an error. Runs exactly once. */
  close?(connection: Connection<Data>, error?: Error): void
  /** A socket error; `close` follows. */
  error?(connection: Connection<Data>, error: Error): void
  /** No activity for the connection's idle timeout. Without this handler the connection is destroyed. */
  timeout?(connection: Connection<Data>): void
}

/**
 * How strings given to `write()` become bytes. 'latin1' is one byte per character and the fastest to encode;
 * the HTTP server uses it, having turned every non-ASCII body string into UTF-8 bytes first.
 */
export type StringEncoding = 'utf8' | 'latin1'

/**
 * A TCP connection seen through its handlers.
 * @example
 * const handlers: Handlers<{ seen: number }> = {
 *   open(connection) { connection.data = { seen: 0 } },
 *   data(connection, bytes) { connection.data.seen += bytes.length; connection.write(bytes) },
 * }
 */
export interface Connection<Data = unknown> {
  /** Per-connection state, owned by the handlers. */
  data: Data
  readonly remoteAddress: string | undefined
  readonly remotePort: number | undefined
  readonly localPort: number | undefined
  /** True once the connection is closed or destroyed. */
  readonly closed: boolean
  /** Bytes accepted by `write()` that the kernel has not taken yet. */
  readonly bufferedBytes: number
  /** Bytes the kernel has taken since the connection opened: grows as a peer reads, however slowly. */
  readonly sentBytes: number
  /** True while `write()` would report backpressure: the bytes buffered are at or over the high-water mark. */
  readonly writeBlocked: boolean
  /** True while reading is paused, by `pause()` or by backpressure. */
  readonly readPaused: boolean
  /**
   * Queues bytes (strings are encoded as the listener's `stringEncoding`, UTF-8 by default). They leave with
   * the rest of this read's writes, or on the next tick when written outside a read.
   * @returns false once the bytes buffered reach the high-water mark: wait for `drain` before writing more
   */
  write(bytes: string | Uint8Array): boolean
  /** Sends everything queued now. */
  flush(): void
  /**
   * @internal Only where the backend can (its `sendFile` capability: epoll's sendfile(2)): queues `length` bytes of the open file `fd` from
   * `position`, to leave behind the bytes written before and ahead of those written after, straight from
   * the page cache (no copy through JavaScript). They count in `bufferedBytes` until sent, so backpressure
   * and the send timeout judge them like written bytes. `done` runs once: true when all were sent, false
   * when the connection closed first (the caller closes the file then). A file shorter than promised
   * fails the connection with a FileChangedError. A read of a file not in the page cache waits for the disk.
   */
  sendFile?(fd: number, position: number, length: number, done: (complete: boolean) => void): void
  /** @internal True when the connection is backed up, and then a `drain` is sure to follow; false when writing may go on. */
  owesDrain(): boolean
  /** Stops reading until `resume()` (backpressure from the reader's side). */
  pause(): void
  /** Resumes reading, unless writes are still over the high-water mark. */
  resume(): void
  /** Closes after the idle time with no activity (0 turns it off); `handlers.timeout` decides what to do. */
  setTimeout(idleTimeoutMs: number): void
  /** Flushes, then half-closes: sends FIN and lets the peer finish (the socket closes when it does). */
  end(bytes?: string | Uint8Array): void
  /** Closes at once, dropping anything unsent. */
  destroy(error?: Error): void
}

/**
 * The transport backends: 'epoll' (Linux, through koffi) and 'node' (node:net, every OS). Chosen by the
 * `backend` option, else the WIRESPEED_BACKEND environment variable, else the first in the registry
 * (src/tcp/backends.ts) that runs here: epoll on Linux where koffi loads, else node.
 */
export type Backend = 'node' | 'epoll'

/**
 * The seam between a connection and the protocol spoken on it: with `protocolHandlers`, `connection.data`
 * is the protocol, and every event goes to it. A protocol hands its connection on (an HTTP upgrade to
 * WebSocket, say) with `handOff()`, which gives the next protocol the bytes already read and not consumed.
 */
export interface Protocol {
  onData(bytes: Buffer): void
  onDrain(): void
  /** The peer half-closed (sent FIN). */
  onEnd(): void
  /** The connection is gone; runs once. */
  onClose(error?: Error): void
  /** @internal A server's sweep: act on a deadline that has passed (`now` in ms). */
  checkDeadline?(now: number): void
  /** @internal The server is closing: finish what is owed, take nothing new. */
  shutdown?(): void
}

/** What a stage may do with the connection before open. */
export interface StageConnection {
  readonly remoteAddress: string | undefined
  readonly remotePort: number | undefined
  readonly closed: boolean
  /** True once `end()` was called. */
  readonly ending: boolean
  /** Sets the address and port the protocol will see as the peer's (a PROXY header's source). */
  setPeer(address: string, port: number): void
  write(bytes: string | Uint8Array): boolean
  end(bytes?: string | Uint8Array): void
  destroy(error?: Error): void
}

/**
 * One stage before open (src/tcp/stages.ts runs the chain).
 * @example
 * // Consumes a magic line, or refuses the connection.
 * const magic: Stage = {
 *   name: 'magic line',
 *   take(bytes, connection) {
 *     if (bytes.length < 6) return STAGE_MORE
 *     if (bytes.toString('latin1', 0, 6) !== 'MAGIC\n') connection.destroy()
 *     return 6
 *   },
 * }
 */
export interface Stage {
  /** What it reads, for messages ("PROXY header"). */
  readonly name: string
  /**
   * Reads what has arrived for this stage: every byte not consumed by the stages before it, from the first
   * (bytes that came in several reads are joined). It may end or destroy the connection.
   * @returns the bytes it consumed, now that it is done; or STAGE_MORE (-1) to wait for more
   */
  take(bytes: Buffer, connection: StageConnection): number
}

/** A TCP address to listen on. */
export interface TcpAddress {
  /** Address or host name to listen on. Default 127.0.0.1 (loopback only: opt in to 0.0.0.0 or ::). */
  host?: string
  /** Port; 0 picks a free one (read it back from `listener.port`). */
  port: number
  /** Let several processes or threads listen on the same port; the kernel spreads connections (Linux, BSD). */
  reusePort?: boolean
  path?: undefined
  fd?: undefined
}

/** A Unix socket to listen on (`path`, node:net's name; `serve()` calls it `unix`, as Bun does). */
export interface UnixAddress {
  /** The socket file's path. */
  path: string
  /** Ignored: a Unix socket has no port (accepted so that `{ port: 0, path }` reads as before). */
  port?: number
  host?: undefined
  reusePort?: undefined
  fd?: undefined
}

/** A listening socket inherited from a parent (systemd's socket activation): refused until issue 39. */
export interface InheritedSocket {
  /** The listening socket's descriptor. */
  fd: number
  host?: undefined
  port?: undefined
  path?: undefined
  reusePort?: undefined
}

/** Where a listener listens: one of a TCP address, a Unix socket or an inherited socket, never two. */
export type ListenAddress = TcpAddress | UnixAddress | InheritedSocket

/**
 * What a listener is, as one structured-cloneable value (no function in it): where (ListenAddress), on which
 * backend, with what queue; the TLS and PROXY protocol settings join it here (issues 37, 39). `serve()`
 * makes it once (`listenSpecOf()`), and listenHttp(), listen() and the serving workers' setup pass it on
 * whole, so a new listening option is added to this type and read where it acts.
 * @example
 * const spec: ListenSpec = { host: '0.0.0.0', port: 8080, reusePort: true, backend: 'epoll' }
 */
export type ListenSpec = ListenAddress & {
  /** Length of the queue of connections not yet accepted. */
  backlog?: number
  /** The transport backend (default: WIRESPEED_BACKEND, else the first that runs here: epoll on Linux, else node). */
  backend?: Backend
}

/** How a listener's connections behave, beside where it listens (ListenSpec). */
export interface ConnectionOptions<Data = unknown> {
  /** Idle timeout per connection in milliseconds (0: none); fires `handlers.timeout`. */
  idleTimeoutMs?: number
  /** Write-buffer bytes per connection before backpressure. */
  writeBufferBytesHigh?: number
  /** How strings passed to `connection.write()` are encoded. Default 'utf8'. */
  stringEncoding?: StringEncoding
  /**
   * @internal Stages each connection passes through on raw bytes before `handlers.open` (./stages.ts); the
   * PROXY protocol and TLS issues add the real ones.
   */
  stages?: readonly Stage[]
  /** @internal Time from accept to the end of the stages (default `stageTimeoutMs` in src/limits.ts). */
  stageTimeoutMs?: number
  /** @internal Bytes the stages may take (default `stageBytesMax` in src/limits.ts). */
  stageBytesMax?: number
  handlers: Handlers<Data>
}

/** What `listen()` takes: where (a ListenSpec), and how its connections behave. */
export type ListenOptions<Data = unknown> = ListenSpec & ConnectionOptions<Data>

/** A listening server: on a TCP `host` and `port`, or on a Unix socket's `path` (never a path in `host`). */
export interface Listener<Data = unknown> {
  /** The address listened on; '' on a Unix socket. */
  readonly host: string
  /** The port listened on; 0 on a Unix socket. */
  readonly port: number
  /** The Unix socket's path, or undefined on TCP. */
  readonly path?: string
  /** The backend serving the connections. */
  readonly backend: Backend
  /** Why that backend: "the default on Linux", "WIRESPEED_BACKEND=node", "the backend option"... */
  readonly backendReason?: string
  /** The open connections. */
  readonly connections: ReadonlySet<Connection<Data>>
  /** Stops accepting; resolves when every connection has closed (end or destroy them yourself). */
  close(): Promise<void>
}

export interface ConnectOptions<Data = unknown> {
  /** The host name or address to dial; the name is kept beside the address it resolved to (TLS's SNI). */
  host?: string
  /** Ignored with `path`. */
  port: number
  /** A Unix socket path to connect to instead of a TCP port. */
  path?: string
  handlers: Handlers<Data>
  writeBufferBytesHigh?: number
  /** The transport backend (default: WIRESPEED_BACKEND, else the first that runs here: epoll on Linux, else node). */
  backend?: Backend
}

