/*
 * `listen()` and `connect()`: TCP servers and clients whose connections share one handlers object.
 *
 * Host names resolve through `node:dns` (getaddrinfo) before the socket is made, so a name that does not
 * resolve fails with a message naming it. Sockets are half-open capable: when the peer sends FIN, the
 * handlers decide whether more is written (`handlers.end`); by default the connection is ended in turn.
 */
import { lookup } from 'node:dns/promises'
import { connect as netConnect, createServer, isIP, type Server, type Socket } from 'node:net'
import { ConnectError, HostNotFoundError, ListenError } from '../errors.ts'
import { checkInteger, defaultLimits, limitSpecs } from '../limits.ts'
import { requireNode } from '../runtime.ts'
import { Connection, type Handlers, type StringEncoding } from './connection.ts'

/** The first Node whose net.Server.listen() takes reusePort. */
export const REUSE_PORT_NODE = '22.12'

export interface ListenOptions<Data = unknown> {
  /** Address or host name to listen on. Default 127.0.0.1 (loopback only: opt in to 0.0.0.0 or ::). */
  host?: string
  /** Port; 0 picks a free one (read it back from `listener.port`). Ignored with `path`. */
  port: number
  /** A Unix socket path to listen on instead of a TCP port. */
  path?: string
  /** Let several processes or threads listen on the same port; the kernel spreads connections (Linux, BSD). */
  reusePort?: boolean
  /** Length of the queue of connections not yet accepted. */
  backlog?: number
  /** Idle timeout per connection in milliseconds (0: none); fires `handlers.timeout`. */
  idleTimeoutMs?: number
  /** Write-buffer bytes per connection before backpressure. */
  writeBufferBytesHigh?: number
  /** How strings passed to `connection.write()` are encoded. Default 'utf8'. */
  stringEncoding?: StringEncoding
  handlers: Handlers<Data>
}

/** A listening TCP server. */
export interface Listener<Data = unknown> {
  readonly host: string
  readonly port: number
  /** The open connections. */
  readonly connections: ReadonlySet<Connection<Data>>
  /** Stops accepting; resolves when every connection has closed (end or destroy them yourself). */
  close(): Promise<void>
}

/**
 * Starts a TCP server.
 * @example
 * const listener = await listen({ port: 7000, handlers: { data(connection, bytes) { connection.write(bytes) } } })
 * await listener.close()
 */
export async function listen<Data = unknown>(options: ListenOptions<Data>): Promise<Listener<Data>> {
  const port = options.path === undefined ? options.port : 0
  checkInteger('port', port, { min: 0, max: 65535 })
  if (options.reusePort) requireNode('reusePort', REUSE_PORT_NODE)
  const host = options.path ?? (await resolveHost(options.host ?? '127.0.0.1'))
  const writeBufferBytesHigh = options.writeBufferBytesHigh ?? defaultLimits.writeBufferBytesHigh
  checkInteger('writeBufferBytesHigh', writeBufferBytesHigh, limitSpecs.writeBufferBytesHigh)
  const idleTimeoutMs = options.idleTimeoutMs ?? 0
  checkInteger('idleTimeoutMs', idleTimeoutMs, { min: 0, max: 2 ** 31 - 1 })
  const handlers = options.handlers
  const connections = new Set<Connection<Data>>()
  const server = createServer({ allowHalfOpen: true, noDelay: true, highWaterMark: writeBufferBytesHigh })

  server.on('connection', (socket: Socket) => {
    const connection = new Connection(socket, handlers, writeBufferBytesHigh, options.stringEncoding)
    connections.add(connection)
    socket.once('close', () => connections.delete(connection))
    if (idleTimeoutMs > 0) connection.setTimeout(idleTimeoutMs)
    handlers.open?.(connection)
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) => reject(listenError(error, host, port)))
    if (options.path !== undefined) server.listen({ path: options.path, backlog: options.backlog }, resolve)
    else server.listen({ host, port, backlog: options.backlog, reusePort: options.reusePort }, resolve)
  })
  // After start-up, a server error (EMFILE on accept, say) must not crash the process.
  server.on('error', () => {})
  const address = server.address()
  return {
    host,
    port: typeof address === 'object' && address !== null ? address.port : 0,
    connections,
    close: () => closeServer(server),
  }
}

export interface ConnectOptions<Data = unknown> {
  host?: string
  /** Ignored with `path`. */
  port: number
  /** A Unix socket path to connect to instead of a TCP port. */
  path?: string
  handlers: Handlers<Data>
  writeBufferBytesHigh?: number
}

/**
 * Opens a TCP connection; resolves once it is established (after `handlers.open`).
 * @example
 * const connection = await connect({ port: 7000, handlers: { data(connection, bytes) { console.log(bytes) } } })
 * connection.write('ping')
 */
export async function connect<Data = unknown>(options: ConnectOptions<Data>): Promise<Connection<Data>> {
  if (options.path === undefined) checkInteger('port', options.port, { min: 1, max: 65535 })
  const host = options.path ?? (await resolveHost(options.host ?? '127.0.0.1'))
  const writeBufferBytesHigh = options.writeBufferBytesHigh ?? defaultLimits.writeBufferBytesHigh
  const socket =
    options.path !== undefined
      ? netConnect({ path: options.path, allowHalfOpen: true })
      : netConnect({ host, port: options.port, allowHalfOpen: true, noDelay: true })
  await new Promise<void>((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException) => {
      reject(new ConnectError(`Cannot connect to ${options.path ?? `${host}:${options.port}`}: ${error.code ?? error.message}`, error.code ?? 'UNKNOWN', { cause: error }))
    }
    socket.once('error', onError)
    socket.once('connect', () => {
      socket.off('error', onError)
      resolve()
    })
  })
  const connection = new Connection(socket, options.handlers, writeBufferBytesHigh)
  options.handlers.open?.(connection)
  return connection
}

/** Resolves a host name to one address with getaddrinfo; an IP literal is returned as it is. */
export async function resolveHost(host: string): Promise<string> {
  const literal = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host
  if (isIP(literal) !== 0) return literal
  try {
    return (await lookup(literal)).address
  } catch (error) {
    throw new HostNotFoundError(`Cannot resolve host ${host}: ${(error as NodeJS.ErrnoException).code ?? error}`, { cause: error })
  }
}

function listenError(error: NodeJS.ErrnoException, host: string, port: number): ListenError {
  const why =
    error.code === 'EADDRINUSE' ? 'the port is in use; pick another with --port or stop what holds it'
    : error.code === 'EACCES' ? 'permission denied; ports below 1024 need privileges'
    : error.code === 'EADDRNOTAVAIL' ? 'the address is not on this machine'
    : (error.code ?? error.message)
  return new ListenError(`Cannot listen on ${host}:${port}: ${why}`, error.code ?? 'UNKNOWN', { cause: error })
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    if (!server.listening) return resolve()
    server.close(() => resolve())
  })
}
