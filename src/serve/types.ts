/* The options of `serve()`, one interface per mode, and the server it returns. */
import type { FetchHandler, FetchServer, Routes } from '../app/types.ts'
import type { ErrorHandler, Handler, HttpServer } from '../http/types.ts'
import type { Limits } from '../limits.ts'
import type { Backend } from '../tcp/types.ts'
import type { StaticFiles } from '../static/static-files.ts'
import type { StaticOptions } from '../static/types.ts'
import type { WebSocketHandler } from '../websocket/types.ts'

/*
 * Where to listen (host, port, reusePort) is read in one place, listenSpecOf() (./listen-spec.ts), which
 * makes the ListenSpec (src/tcp/types.ts: a TCP address, a Unix socket or an inherited socket, as an
 * either-or) that listenHttp(), listen() and the worker threads pass on whole. A Unix socket (`unix`, as
 * Bun names it) joins these options as the other side of that either-or with issue 39; until then it is
 * refused as an unknown option, saying so.
 */
interface CommonServeOptions {
  /** Default 127.0.0.1. */
  host?: string
  /** Default 5001; 0 picks a free port. */
  port?: number
  /** Overrides of the defaults in src/limits.ts, validated here. */
  limits?: Partial<Limits>
  /** Where the server's few log lines go (worker starts and restarts). Default: console.log. */
  log?: (line: string) => void
  /** The transport backend (default: WIRESPEED_BACKEND, else the first that runs here: epoll on Linux where koffi loads, else node). */
  backend?: Backend
  /**
   * With a `fetch` handler: make `globalThis.Response` wirespeed's light Response while the server runs (default true;
   * @hono/node-server does the same). A real Response is made only when a handler asks for what only it has.
   */
  lightResponse?: boolean
}

/**
 * One event loop, on this thread. A request meets, in order: `routes`, then `static` files, then `fetch`
 * or `handler` (give one), then a 404.
 * @example
 * serve({
 *   routes: { '/health': new Response('ok'), 'GET /users/:id': (request, response) => response.json({ id: request.params.id }) },
 *   static: './public',
 *   fetch: (request) => new Response(`No page at ${new URL(request.url).pathname}`, { status: 404 }),
 * })
 */
export interface OneLoopServeOptions<R = Record<string, unknown>> extends CommonServeOptions {
  workers?: undefined
  /**
   * Routes in Bun.serve's shape: `"/path"` (every method) or `"METHOD /path"` → a handler, a fixed Response or
   * an object of methods; `:name` parameters (typed in `request.params`), a last `*` for the rest. Exact
   * paths win over parameters, parameters over wildcards; other methods on a known path get 405 with Allow.
   */
  routes?: Routes<R>
  /** Answers requests (the native shape); with `static`, it gets what the folder does not have (and methods other than GET/HEAD). */
  handler?: Handler
  /** A web-standard handler, `(Request, server) → Response` (Hono's `app.fetch`), in place of `handler`. */
  fetch?: FetchHandler
  /** Called with a handler's error (or an internal one). Default: console.error. */
  onError?: ErrorHandler
  /** Serve a folder: its path, options (see StaticOptions), or a StaticFiles made by the caller. */
  static?: string | StaticOptions | StaticFiles
  /**
   * WebSocket handlers (Bun.serve's shape): a request becomes a WebSocket when its handler calls
   * `server.upgrade(request, { data })` (fetch) or `response.upgrade({ data })` (routes, handler).
   */
  websocket?: WebSocketHandler<any>
  /** Share the port with other processes or threads (Linux, BSD). */
  reusePort?: boolean
  /**
   * The app as a module, imported on this thread: what it exports, as with `workers` (see
   * WorkersServeOptions), in place of `handler`, `fetch`, `routes`, `websocket` and `onError`. The same
   * options then serve on one loop or on workers.
   */
  handlerModule?: URL | string
}

/**
 * One event loop per worker thread ('auto': one per core, never more), each listening with reusePort. The
 * app comes from `handlerModule`, as a function cannot cross threads: `handler`, `fetch`, `routes`,
 * `websocket` and `onError` given here are refused, saying so. Every other option means what it means on one loop.
 * @example
 * serve({ workers: 'auto', handlerModule: new URL('./handler.ts', import.meta.url), static: './public' })
 */
export interface WorkersServeOptions extends CommonServeOptions {
  workers: number | 'auto'
  /**
   * A module each worker imports. Its default export is the handler, or an app object with `fetch`,
   * `routes`, `handler`, `websocket` and `onError` (`export default { fetch, websocket, onError }`, or a
   * Hono app: `export default app`). A named export `onError` is taken too, whatever the default export.
   */
  handlerModule?: URL | string
  /**
   * Serve a folder: its path or options (see StaticOptions). Each worker keeps its own cache; one watcher,
   * on the main thread, tells them all of changes. A StaticFiles instance cannot cross threads.
   */
  static?: string | StaticOptions
  /** Every worker listens with reusePort, to share the port: true changes nothing, false is refused. */
  reusePort?: true
  handler?: never
  routes?: never
  fetch?: never
  /** With workers, the handler module exports its websocket handlers (`export default { fetch, websocket }`). */
  websocket?: never
  /** With workers, the handler module exports it (`export default { fetch, onError }`), called on the worker. */
  onError?: never
}

export type ServeOptions<R = Record<string, unknown>> = OneLoopServeOptions<R> | WorkersServeOptions

/** A running server, on one event loop or on several worker threads. */
export interface Server extends HttpServer, FetchServer {
  /** Event loops serving (1 unless `workers` was given). */
  readonly workers: number
  /** Worker threads replaced after they died. */
  readonly restarts: number
}
