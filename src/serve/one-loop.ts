/*
 * A server on this event loop, on `listenHttp()`: routes, then static files, then the fetch handler or the
 * handler, then 404, composed into one Handler at start. The `serve()` facade uses it for one loop, and each
 * serving worker thread uses it for its own.
 */
import { AppServer, fetchHandler } from '../app/fetch.ts'
import { optionsFirst } from '../app/options.ts'
import { routeHandler, routeMethods } from '../app/routes.ts'
import type { FetchHandler, RouteValue } from '../app/types.ts'
import { installLightResponse } from '../app/web-response.ts'
import type { ErrorHandler, Handler } from '../http/types.ts'
import type { Request } from '../http/request.ts'
import type { Response } from '../http/response.ts'
import { listenHttp } from '../http/server.ts'
import { resolveLimits } from '../limits.ts'
import { StaticFiles } from '../static/static-files.ts'
import type { WebSocketHandler } from '../websocket/types.ts'
import { WebSocketServer } from '../websocket/websocket-server.ts'
import type { StaticOptions } from '../static/types.ts'
import type { ListenSpec } from '../tcp/types.ts'
import { listenSpecOf } from './listen-spec.ts'
import type { OneLoopServeOptions, Server } from './types.ts'

/** What a serving worker thread asks of its loop beyond the options. @internal */
export interface OneLoopHooks {
  /** Told a WebSocket topic's new number of subscribers on this loop whenever it changes. */
  onSubscriberCount?: (topic: string, count: number) => void
}

/** Serves `options` on this event loop, listening as `spec` says (a worker thread is given its spec whole). */
export async function serveOneLoop<R>(options: OneLoopServeOptions<R>, hooks: OneLoopHooks = {}, spec: ListenSpec = listenSpecOf(options)): Promise<Server> {
  if (options.handler !== undefined && typeof options.handler !== 'function') throw new TypeError('Invalid option handler: expected a function')
  if (options.fetch !== undefined && typeof options.fetch !== 'function') throw new TypeError('Invalid option fetch: expected a function (request, server) => Response')
  if (options.fetch !== undefined && options.handler !== undefined) throw new TypeError('Invalid options fetch and handler: give one (fetch for web Requests, handler for the native shape)')
  if (options.handler === undefined && options.fetch === undefined && options.static === undefined && options.routes === undefined) {
    throw new TypeError('Missing option handler (or fetch, routes, static, handlerModule): expected something that answers requests')
  }
  const app = new AppServer()
  const onError = options.onError
  const websocket = options.websocket === undefined ? undefined
    : new WebSocketServer(options.websocket, resolveLimits(options.limits).sendTimeoutMs, (error) => (onError ?? defaultWebSocketError)(error, undefined))
  app.websocket = websocket
  if (hooks.onSubscriberCount !== undefined) websocket?.onSubscriberCount(hooks.onSubscriberCount)
  const last: Handler = options.fetch !== undefined ? fetchHandler(options.fetch, app) : options.handler ?? notFound
  const files = await openStatic(options.static)
  let handler = files === undefined ? last : staticFirst(files, options.handler === undefined && options.fetch === undefined ? undefined : last)
  let uninstall: (() => void) | undefined
  let server
  try {
    if (options.routes !== undefined) handler = await routeHandler(options.routes as Record<string, RouteValue>, handler)
    // OPTIONS * answered, and Allow given to a handler's OPTIONS reply that has none (../app/options.ts).
    handler = optionsFirst(handler, options.routes === undefined ? [] : routeMethods(options.routes as Record<string, RouteValue>), files !== undefined, options.handler !== undefined || options.fetch !== undefined)
    if (options.fetch !== undefined && options.lightResponse !== false) uninstall = installLightResponse()
    server = await listenHttp({
      listen: spec, handler, limits: options.limits, onError: options.onError,
      upgrader: websocket?.upgrader, upgradeTimeoutMs: websocket?.shortestTimeoutMs,
    })
  } catch (error) {
    files?.close()
    uninstall?.()
    throw error
  }
  const http = server
  app.url = http.url
  app.hostname = http.host
  app.port = http.port
  return {
    host: http.host,
    hostname: http.host,
    port: http.port,
    url: http.url,
    limits: http.limits,
    backend: http.backend,
    backendReason: http.backendReason,
    get connections() {
      return http.connections
    },
    stats: () => http.stats(),
    requestIP: (request) => app.requestIP(request),
    upgrade: (request, upgradeOptions) => app.upgrade(request, upgradeOptions),
    publish: (topic, data, compress) => app.publish(topic, data, compress),
    subscriberCount: (topic) => app.subscriberCount(topic),
    workers: 1,
    restarts: 0,
    async close() {
      await http.close()
      files?.close()
      uninstall?.()
    },
  }
}

/** What nothing else answered. */
function notFound(request: Request, response: Response): void {
  response.status(404).send(`Not Found: ${request.method} ${request.path}\n`)
}

function defaultWebSocketError(error: unknown): void {
  console.error('wirespeed: websocket handler error:', error)
}

/** What a `handlerModule` gives a worker: its default export, a handler or an app object, and its onError. */
export interface AppModule {
  handler?: Handler
  fetch?: FetchHandler
  routes?: Record<string, RouteValue>
  websocket?: WebSocketHandler<any>
  onError?: ErrorHandler
}

/**
 * The default export of `handlerModule`: a function (the handler), or an object with `fetch` and/or
 * `routes` (and `handler`, `websocket`), as Bun's `export default { fetch }` and a Hono app (`export default
 * app`) are. `onError` is the default object's when it is a plain object (a Hono app's `onError` is its own
 * method, which registers a handler), else the module's named export `onError`.
 */
export async function loadHandler(handlerModule: string): Promise<AppModule> {
  const module = (await import(handlerModule)) as { default?: unknown; onError?: unknown }
  const exported = module.default
  const plain = typeof exported === 'object' && exported !== null && Object.getPrototypeOf(exported) === Object.prototype
  const onError = plain && (exported as { onError?: unknown }).onError !== undefined ? (exported as { onError?: unknown }).onError : module.onError
  if (onError !== undefined && typeof onError !== 'function') throw new TypeError(`${handlerModule} exports an onError that is not a function`)
  const app = appOf(handlerModule, exported)
  return onError === undefined ? app : { ...app, onError: onError as ErrorHandler }
}

function appOf(handlerModule: string, exported: unknown): AppModule {
  if (typeof exported === 'function') return { handler: exported as Handler }
  if (typeof exported === 'object' && exported !== null) {
    const app = exported as { fetch?: unknown; routes?: unknown; handler?: unknown; websocket?: unknown }
    if (app.fetch !== undefined || app.routes !== undefined || app.handler !== undefined) {
      const fetch = app.fetch
      return {
        // Called on the object, so that a method (not only an arrow property) keeps its `this`.
        fetch: typeof fetch === 'function' ? (request, server) => (fetch as FetchHandler).call(exported, request, server) : (fetch as undefined),
        // A Hono app has `routes` of its own (an array): with a fetch, an array is not a route table.
        routes: Array.isArray(app.routes) && typeof fetch === 'function' ? undefined : (app.routes as Record<string, RouteValue> | undefined),
        handler: app.handler as Handler | undefined,
        websocket: app.websocket as WebSocketHandler<any> | undefined,
      }
    }
  }
  throw new TypeError(`${handlerModule} has no default export to answer requests: expected a handler function, or an object with fetch or routes`)
}

async function openStatic(given: string | StaticOptions | StaticFiles | undefined): Promise<StaticFiles | undefined> {
  if (given === undefined) return undefined
  const files = given instanceof StaticFiles ? given : new StaticFiles(typeof given === 'string' ? { root: given } : given)
  try {
    await files.ready()
  } catch (error) {
    files.close()
    throw error
  }
  return files
}

/** Files first; what the folder does not have (and methods other than GET and HEAD) goes to `fallback`. */
function staticFirst(files: StaticFiles, fallback: Handler | undefined): Handler {
  return (request, response) => files.handle(request, response, fallback)
}
