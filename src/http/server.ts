/*
 * `serve()`: an HTTP/1.1 server on `src/tcp`.
 *
 * One handlers object per server routes every connection's events to its ConnectionState. One interval per
 * server sweeps the connections' deadlines (idle, headers, body, linger, send): no timer per connection or
 * per request. Its period is a quarter of the shortest timeout (5 ms to 1 s), so a timeout fires between
 * its value and 1.25 times it.
 *
 * `close()` is graceful: stop accepting, close idle connections at once, let replies in flight finish, and
 * destroy what is left after `shutdownTimeoutMs`.
 */
import { HttpError } from '../errors.ts'
import { resolveLimits, type Limits } from '../limits.ts'
import type { Handlers } from '../tcp/connection.ts'
import { listen, type Listener } from '../tcp/listen.ts'
import { ConnectionState, type Handler, type ServerContext } from './connection-state.ts'
import type { Request } from './request.ts'
import { StaticFiles, type StaticOptions } from './static.ts'
import { serveWorkers } from '../thread/serve-workers.ts'

export interface ServeOptions {
  /** Default 127.0.0.1. */
  host?: string
  /** Default 5001; 0 picks a free port. */
  port?: number
  /** Share the port with other processes or threads (Linux, BSD). */
  reusePort?: boolean
  /** Answers requests; with `static`, it gets what the folder does not have (and methods other than GET/HEAD). */
  handler?: Handler
  /** Serve a folder: its path, options (see StaticOptions), or a StaticFiles made by the caller. */
  static?: string | StaticOptions | StaticFiles
  /**
   * Serve on several cores: one event loop per worker thread ('auto': one per core), each with reusePort.
   * The handler must then come from `handlerModule`, as a function cannot cross threads.
   */
  workers?: number | 'auto'
  /** A module whose default export is the handler (required for a handler with `workers`). */
  handlerModule?: URL | string
  /** Where the server's few log lines go (worker starts and restarts). Default: console.log. */
  log?: (line: string) => void
  /** Overrides of the defaults in src/limits.ts, validated here. */
  limits?: Partial<Limits>
  /** Called with a handler's error (or an internal one). Default: console.error. */
  onError?: (error: unknown, request: Request | undefined) => void
}

/** A running HTTP server. */
export interface Server {
  readonly host: string
  readonly port: number
  /** "http://127.0.0.1:5001" */
  readonly url: string
  readonly limits: Limits
  /** Open connections. */
  readonly connections: number
  /** Requests received and bytes of replies queued since the start (for status lines). */
  stats(): { requests: number; bytesOut: number; connections: number }
  /** Event loops serving (1 unless `workers` was given). */
  readonly workers: number
  /** Worker threads replaced after they died. */
  readonly restarts: number
  /** Graceful: stop accepting, finish replies in flight (up to shutdownTimeoutMs), then resolve. */
  close(): Promise<void>
}

/**
 * Starts an HTTP/1.1 server.
 * @example
 * const server = await serve({ port: 5001, handler: (request, response) => response.send('Hello, World!') })
 * await server.close()
 */
export async function serve(options: ServeOptions): Promise<Server> {
  if (options.workers !== undefined) return serveWorkers(options, serve)
  const limits = resolveLimits(options.limits)
  let files: StaticFiles | undefined
  let handler = options.handler
  if (handler !== undefined && typeof handler !== 'function') throw new TypeError('Invalid option handler: expected a function')
  if (options.static !== undefined) {
    const given = options.static
    files = given instanceof StaticFiles ? given : new StaticFiles(typeof given === 'string' ? { root: given } : given)
    await files.ready().catch((error: unknown) => {
      files!.close()
      throw error
    })
    const fallback = handler
    const staticFiles = files
    handler = (request, response) => staticFiles.handle(request, response, fallback)
  }
  if (handler === undefined) throw new TypeError('Missing option handler (or static): expected a function that answers requests')
  const counters = { requests: 0, bytesOut: 0 }
  const context: ServerContext = {
    limits,
    handler,
    counters,
    onError: options.onError ?? defaultOnError,
  }
  let listener: Listener<ConnectionState> | undefined
  const handlers: Handlers<ConnectionState> = {
    open(connection) {
      const state = new ConnectionState(connection, context)
      connection.data = state
      if (listener !== undefined && listener.connections.size > limits.connectionsMax) {
        state.refuse(new HttpError(503, 'TOO_MANY_CONNECTIONS', `More than connectionsMax (${limits.connectionsMax}) connections`))
      }
    },
    data(connection, bytes) {
      connection.data.onData(bytes)
    },
    drain(connection) {
      connection.data.onDrain()
    },
    end(connection) {
      connection.data.onEnd()
    },
    close(connection) {
      connection.data.onClose()
    },
    error() {
      // ECONNRESET and the like: `close` follows, and the connection's state cleans up there.
    },
  }
  try {
    listener = await listen({
      host: options.host,
      port: options.port ?? 5001,
      reusePort: options.reusePort,
      writeBufferBytesHigh: limits.writeBufferBytesHigh,
      // Heads are ASCII and Response turns non-ASCII body strings into UTF-8 bytes, so Latin-1 is exact.
      stringEncoding: 'latin1',
      handlers,
    })
  } catch (error) {
    files?.close()
    throw error
  }
  const connections = listener.connections
  const sweepMs = Math.min(
    1000,
    Math.max(5, Math.floor(Math.min(limits.headersTimeoutMs, limits.bodyTimeoutMs, limits.idleTimeoutMs, limits.sendTimeoutMs) / 4)),
  )
  const sweep = setInterval(() => {
    const now = Date.now()
    for (const connection of connections) connection.data.checkDeadline(now)
  }, sweepMs)

  let closing: Promise<void> | undefined
  const host = listener.host
  const port = listener.port
  return {
    host,
    port,
    url: httpUrl(host, port),
    limits,
    get connections() {
      return connections.size
    },
    stats() {
      return { requests: counters.requests, bytesOut: counters.bytesOut, connections: connections.size }
    },
    workers: 1,
    restarts: 0,
    close() {
      closing ??= (async () => {
        const closed = listener.close()
        for (const connection of connections) connection.data.shutdown()
        const force = setTimeout(() => {
          for (const connection of connections) connection.destroy()
        }, limits.shutdownTimeoutMs)
        await closed
        clearTimeout(force)
        clearInterval(sweep)
        files?.close()
      })()
      return closing
    },
  }
}

/** "http://host:port", with an IPv6 address in brackets. */
export function httpUrl(host: string, port: number): string {
  return `http://${host.includes(':') ? `[${host}]` : host}:${port}`
}

function defaultOnError(error: unknown, request: Request | undefined): void {
  const where = request ? ` (${request.method} ${request.url})` : ''
  console.error(`wirespeed: handler error${where}:`, error)
}
