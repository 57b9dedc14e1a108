/*
 * `listenHttp()`: an HTTP/1.1 server on `src/tcp`, on one event loop. It knows one handler; static files,
 * worker threads and the choice between them are the `serve()` facade's (src/serve/serve.ts).
 *
 * Every connection speaks HTTP/1.1 first: its `data` is a ConnectionState, the Protocol that gets its events
 * (src/tcp/protocol.ts), which a later upgrade may hand the connection on from. One interval per
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
import { protocolHandlers } from '../tcp/protocol.ts'
import type { Connection, Listener, Protocol } from '../tcp/types.ts'
import { ConnectionState, type ServerContext } from './connection-state.ts'
import type { Request } from './request.ts'
import { httpUrl, type HttpServer, type HttpServerOptions } from './types.ts'

/**
 * Starts an HTTP/1.1 server on this event loop.
 * @example
 * const server = await listenHttp({ listen: { port: 0 }, handler: (request, response) => response.send('Hello') })
 * await server.close()
 */
export async function listenHttp(options: HttpServerOptions): Promise<HttpServer> {
  const limits = resolveLimits(options.limits)
  if (typeof options.handler !== 'function') throw new TypeError('Invalid option handler: expected a function that answers requests')
  const counters = { requests: 0, bytesOut: 0 }
  const context: ServerContext = { limits, handler: options.handler, counters, onError: options.onError ?? defaultOnError, upgrader: options.upgrader }
  let listener: Listener<Protocol> | undefined = undefined
  listener = await listen({
    ...options.listen,
    writeBufferBytesHigh: limits.writeBufferBytesHigh,
    // Heads are ASCII and Response turns non-ASCII body strings into UTF-8 bytes, so Latin-1 is exact.
    stringEncoding: 'latin1',
    handlers: protocolHandlers(startHttp(context, () => listener?.connections.size ?? 0)),
  })
  const sweep = sweepDeadlines(listener.connections, limits, options.upgradeTimeoutMs ?? Infinity)
  let closing: Promise<void> | undefined
  return {
    host: listener.host,
    port: listener.port,
    url: httpUrl(listener.host, listener.port),
    limits,
    backend: listener.backend,
    backendReason: listener.backendReason ?? 'the backend option',
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

/** Each connection starts as HTTP/1.1 (a ConnectionState), refused with 503 past connectionsMax. */
function startHttp(context: ServerContext, openConnections: () => number): (connection: Connection<Protocol>) => Protocol {
  const connectionsMax = context.limits.connectionsMax
  return (connection) => {
    const state = new ConnectionState(connection, context)
    if (openConnections() > connectionsMax) {
      state.refuse(new HttpError(503, 'TOO_MANY_CONNECTIONS', `More than connectionsMax (${connectionsMax}) connections`))
    }
    return state
  }
}

/** One interval for every connection's deadlines, at a quarter of the shortest timeout (5 ms to 1 s). */
function sweepDeadlines(connections: ReadonlySet<Connection<Protocol>>, limits: Limits, upgradeTimeoutMs: number): NodeJS.Timeout {
  const shortestMs = Math.min(limits.headersTimeoutMs, limits.bodyTimeoutMs, limits.idleTimeoutMs, limits.sendTimeoutMs, upgradeTimeoutMs)
  const sweepMs = Math.min(1000, Math.max(5, Math.floor(shortestMs / 4)))
  return setInterval(() => {
    const now = Date.now()
    for (const connection of connections) connection.data.checkDeadline?.(now)
  }, sweepMs)
}

/** Stops accepting, lets each connection finish what it owes, and destroys what is left after shutdownTimeoutMs. */
async function closeGracefully(listener: Listener<Protocol>, limits: Limits): Promise<void> {
  const closed = listener.close()
  for (const connection of listener.connections) connection.data.shutdown?.()
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
