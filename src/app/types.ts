/* The types an app writes against: routes (typed parameters), the fetch handler, and the server it gets. */
import type { Request } from '../http/request.ts'
import type { Response } from '../http/response.ts'
import type { WebSocketData } from '../websocket/types.ts'
import type { RouteMethod } from './router.ts'

export type { RouteMethod }

type Simplify<T> = { [K in keyof T]: T[K] } & {}
type PathOf<Key extends string> = Key extends `${RouteMethod} ${infer Path}` ? Path : Key
type ParamsOfPath<Path extends string> =
  Path extends `${string}/:${infer Name}/${infer Rest}` ? { [N in Name]: string } & ParamsOfPath<`/${Rest}`>
  : Path extends `${string}/:${infer Name}` ? { [N in Name]: string }
  : Path extends `${string}/*` ? { '*': string }
  : {}

/**
 * The parameters of a route key: `RouteParams<'GET /users/:id/*'>` is `{ id: string; '*': string }`.
 */
export type RouteParams<Key extends string> = Simplify<ParamsOfPath<PathOf<Key>>>

/**
 * A route's handler: the native `(request, response)`; it may also return (or resolve to) a web Response,
 * which is then the reply, or what `response.upgrade()` returned (true: a WebSocket now; false: no upgrade
 * was asked, and the request gets 426 unless the route answered it).
 */
export type RouteHandler<Params = Record<string, string>> = (
  request: Request<Params>,
  response: Response,
) => void | boolean | globalThis.Response | Promise<void | boolean | globalThis.Response>

/** What a route key maps to: a handler, a fixed Response (prepared once, at start), or one of these per method. */
export type RouteValue<Params = Record<string, string>> =
  | RouteHandler<Params>
  | globalThis.Response
  | { [M in RouteMethod]?: RouteHandler<Params> | globalThis.Response }

/**
 * A route table: `"/path"` (every method) or `"METHOD /path"` → a RouteValue; `:name` is a parameter (a whole
 * segment), a last `*` the rest of the path. Exact paths win over parameters, parameters over wildcards.
 * @example
 * const routes = { '/health': new Response('ok'), 'GET /users/:id': (request, response) => response.json({ id: request.params.id }) }
 */
export type Routes<R> = { [Key in keyof R & string]: RouteValue<RouteParams<Key>> }

/** The peer of a request, as `server.requestIP()` gives it (Bun's SocketAddress). */
export interface SocketAddress {
  address: string
  family: 'IPv4' | 'IPv6'
  port: number
}

/** The server a fetch handler gets as its second argument. */
export interface FetchServer {
  /** "http://127.0.0.1:5001" (empty until the server listens). */
  readonly url: string
  readonly hostname: string
  readonly port: number
  /** The peer's address and port, or null for a Request that did not come from this server. */
  requestIP(request: globalThis.Request): SocketAddress | null
  /**
   * Makes `request`'s connection a WebSocket (the server's `websocket` handlers get it, `options.data` as
   * `ws.data`); return nothing from the handler then. False, with nothing sent, for a request that is not a
   * WebSocket upgrade; false after the refusal (400, 405, 426) for one that asks wrongly.
   * @throws TypeError when the server has no `websocket` handlers
   */
  upgrade<Data>(request: globalThis.Request, options?: WebUpgradeOptions<Data>): boolean
  /**
   * Sends a message to every WebSocket subscribed to `topic` (on this event loop; from the main thread of a
   * server with workers, on each worker).
   * @returns the number of sockets it was queued for; from the main thread of a server with workers, the
   *   subscribers the workers last reported (each reports its per-topic counts as they change)
   */
  publish(topic: string, data: WebSocketData, compress?: boolean): number
  /**
   * WebSockets subscribed to `topic` on this event loop; on the main thread of a server with workers, on
   * every worker, as last reported (up to `limits.topicsTrackedMax` topics).
   */
  subscriberCount(topic: string): number
}

/** What `server.upgrade()` takes: the socket's data, and header fields for the 101 reply. */
export interface WebUpgradeOptions<Data = unknown> {
  data?: Data
  headers?: Headers | Record<string, string> | [string, string][]
}

/**
 * A web-standard handler: a `Request` in, a `Response` (or a promise of one) out. Hono's `app.fetch` is one.
 * @example
 * const fetch: FetchHandler = (request) => new Response(`Hello from ${new URL(request.url).pathname}`)
 */
export type FetchHandler = (request: globalThis.Request, server: FetchServer) => globalThis.Response | undefined | Promise<globalThis.Response | undefined>
