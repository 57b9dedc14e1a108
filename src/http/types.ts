/* The types a user of the HTTP layer writes against. */
import type { Limits } from '../limits.ts'
import type { Backend, ListenSpec } from '../tcp/types.ts'
import type { Request } from './request.ts'
import type { Response, Upgrader } from './response.ts'

/**
 * A request handler. It may be async; a throw or rejection before the reply starts is answered with 500
 * (an HttpError with its own status).
 * @example
 * const handler: Handler = (request, response) => response.send(`Hello from ${request.path}`)
 */
export type Handler = (request: Request, response: Response) => void | Promise<void>

/** Called with a handler's error (or an internal one), and the request it happened on when there was one. */
export type ErrorHandler = (error: unknown, request: Request | undefined) => void

/** An HTTP/1.1 server on one event loop, as `listenHttp()` makes it. */
export interface HttpServerOptions {
  /**
   * Where and how to listen, passed on to `listen()` whole (src/tcp/types.ts): a TCP address, the backend,
   * later TLS and the PROXY protocol. `serve()` makes it (src/serve/listen-spec.ts).
   */
  listen: ListenSpec
  handler: Handler
  /** Overrides of the defaults in src/limits.ts, validated here. */
  limits?: Partial<Limits>
  /** Default: console.error. */
  onError?: ErrorHandler
  /** What `response.upgrade()` calls (the serve facade's WebSocket upgrade); without it, upgrade() throws. */
  upgrader?: Upgrader
  /** The shortest timeout of the protocol connections upgrade to: the deadline sweep runs often enough for it. */
  upgradeTimeoutMs?: number
}

/** What every running HTTP server offers, on one event loop or many. */
export interface HttpServer {
  readonly host: string
  readonly port: number
  /** "http://127.0.0.1:5001" */
  readonly url: string
  readonly limits: Limits
  /** The transport backend serving, and why it was chosen. */
  readonly backend: Backend
  readonly backendReason: string
  /** Open connections. */
  readonly connections: number
  /** Requests received and bytes of replies queued since the start (for status lines). */
  stats(): { requests: number; bytesOut: number; connections: number }
  /** Graceful: stop accepting, finish replies in flight (up to shutdownTimeoutMs), then resolve. */
  close(): Promise<void>
}

/** "http://host:port", with an IPv6 address in brackets. */
export function httpUrl(host: string, port: number): string {
  return `http://${host.includes(':') ? `[${host}]` : host}:${port}`
}
