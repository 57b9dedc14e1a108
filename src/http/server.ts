/*
 * `listenHttp()`: an HTTP/1.1 server on `src/tcp`, on one event loop. It knows one handler; static files,
 * worker threads and the choice between them are the `serve()` facade's (src/serve/serve.ts).
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
import { listen } from '../tcp/listen.ts'
import type { Connection, Handlers, Listener } from '../tcp/types.ts'
import { ConnectionState, type ServerContext } from './connection-state.ts'
import type { Request } from './request.ts'
import { httpUrl, type HttpServer, type HttpServerOptions } from './types.ts'

/**
 * Starts an HTTP/1.1 server on this event loop.
 * @example
 * const server = await listenHttp({ port: 0, handler: (request, response) => response.send('Hello') })
 * await server.close()
 */
export async function listenHttp(options: HttpServerOptions): Promise<HttpServer> {
  const limits = resolveLimits(options.limits)
  if (typeof options.handler !== 'function') throw new TypeError('Invalid option handler: expected a function that answers requests')
  const counters = { requests: 0, bytesOut: 0 }
  const context: ServerContext = { limits, handler: options.handler, counters, onError: options.onError ?? defaultOnError }
  let listener: Listener<ConnectionState> | undefined = undefined
  listener = await listen({
    host: options.host,
    port: options.port ?? 5001,
    reusePort: options.reusePort,
    writeBufferBytesHigh: limits.writeBufferBytesHigh,
    // Heads are ASCII and Response turns non-ASCII body strings into UTF-8 bytes, so Latin-1 is exact.
    stringEncoding: 'latin1',
    handlers: connectionHandlers(context, () => listener?.connections.size ?? 0),
  })
  const sweep = sweepDeadlines(listener.connections, limits)
  let closing: Promise<void> | undefined
  return {
    host: listener.host,
    port: listener.port,
    url: httpUrl(listener.host, listener.port),
    limits,
    get connections() {
      return listener.connections.size
    },
    stats() {
      return { requests: counters.requests, bytesOut: counters.bytesOut, connections: listener.connections.size }
    },
    close() {
      closing ??= closeGracefully(listener, limits).finally(() => clearInterval(sweep))
      return closing
    },
  }
}

/** The one handlers object of a server: each connection's events go to its ConnectionState. */
function connectionHandlers(context: ServerContext, openConnections: () => number): Handlers<ConnectionState> {
  const connectionsMax = context.limits.connectionsMax
  return {
    open(connection) {
      const state = new ConnectionState(connection, context)
      connection.data = state
      if (openConnections() > connectionsMax) {
        state.refuse(new HttpError(503, 'TOO_MANY_CONNECTIONS', `More than connectionsMax (${connectionsMax}) connections`))
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
}

/** One interval for every connection's deadlines, at a quarter of the shortest timeout (5 ms to 1 s). */
function sweepDeadlines(connections: ReadonlySet<Connection<ConnectionState>>, limits: Limits): NodeJS.Timeout {
  const shortestMs = Math.min(limits.headersTimeoutMs, limits.bodyTimeoutMs, limits.idleTimeoutMs, limits.sendTimeoutMs)
  const sweepMs = Math.min(1000, Math.max(5, Math.floor(shortestMs / 4)))
  return setInterval(() => {
    const now = Date.now()
    for (const connection of connections) connection.data.checkDeadline(now)
  }, sweepMs)
}

/** Stops accepting, lets each connection finish what it owes, and destroys what is left after shutdownTimeoutMs. */
async function closeGracefully(listener: Listener<ConnectionState>, limits: Limits): Promise<void> {
  const closed = listener.close()
  for (const connection of listener.connections) connection.data.shutdown()
  const force = setTimeout(() => {
    for (const connection of listener.connections) connection.destroy()
  }, limits.shutdownTimeoutMs)
  await closed
  clearTimeout(force)
}

function defaultOnError(error: unknown, request: Request | undefined): void {
  const where = request ? ` (${request.method} ${request.url})` : ''
  console.error(`wirespeed: handler error${where}:`, error)
}
